package io.laketune.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.laketune.io.SafetensorsReader;
import io.laketune.io.SafetensorsWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Checkpoints of a run on any Hadoop FileSystem: {@code <run>/checkpoints/step-<N>/} holds the
 * adapter (PEFT directory) or model (HF directory), {@code optimizer.safetensors} and
 * {@code trainer_state.json}. A checkpoint is written under a hidden temporary name and renamed when
 * complete, so a directory named step-N is always whole; resuming takes the highest one.
 */
final class CheckpointStore {
  static final String STATE = "trainer_state.json";
  static final String OPTIMIZER = "optimizer.safetensors";
  private static final Pattern STEP = Pattern.compile("step-(\\d+)");
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final FileSystem fs;
  private final org.apache.hadoop.fs.Path run;
  private final org.apache.hadoop.fs.Path dir;

  CheckpointStore(String output, Configuration conf) throws IOException {
    this.run = new org.apache.hadoop.fs.Path(output);
    this.fs = run.getFileSystem(conf);
    this.dir = new org.apache.hadoop.fs.Path(run, "checkpoints");
  }

  FileSystem fs() {
    return fs;
  }

  org.apache.hadoop.fs.Path run() {
    return run;
  }

  /** Writes into {@code step-N} through a temporary name; {@code local} already holds the model files. */
  void save(long step, Path local, float[] m, float[] v, TrainerState state) throws IOException {
    SafetensorsWriter w = new SafetensorsWriter().metadata("optimizer", "AdamW").metadata("step", Long.toString(state.optimizerSteps()));
    w.add("exp_avg", Nd4j.createFromArray(m));
    w.add("exp_avg_sq", Nd4j.createFromArray(v));
    w.write(local.resolve(OPTIMIZER));
    JSON.writeValue(local.resolve(STATE).toFile(), state);
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(dir, ".step-" + step + ".tmp");
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(dir, "step-" + step);
    fs.delete(tmp, true);
    fs.mkdirs(tmp);
    try (Stream<Path> files = Files.list(local)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(f.toUri()), new org.apache.hadoop.fs.Path(tmp, f.getFileName().toString()));
      }
    }
    fs.delete(target, true);
    if (!fs.rename(tmp, target)) throw new IOException("could not rename " + tmp + " to " + target);
  }

  /**
   * A fresh hidden directory {@code .step-N.tmp} for a checkpoint that executors write in place (the
   * sharded path); {@link #commitStep} renames it to step-N when every file is there.
   */
  org.apache.hadoop.fs.Path beginStep(long step) throws IOException {
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(dir, ".step-" + step + ".tmp");
    fs.delete(tmp, true);
    fs.mkdirs(tmp);
    return tmp;
  }

  void commitStep(long step) throws IOException {
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(dir, ".step-" + step + ".tmp");
    org.apache.hadoop.fs.Path target = stepDir(step);
    fs.delete(target, true);
    if (!fs.rename(tmp, target)) throw new IOException("could not rename " + tmp + " to " + target);
  }

  org.apache.hadoop.fs.Path stepDir(long step) {
    return new org.apache.hadoop.fs.Path(dir, "step-" + step);
  }

  /** A fresh hidden directory for {@code <run>/<name>} written in place; {@link #commitPublished} renames it. */
  org.apache.hadoop.fs.Path beginPublish(String name) throws IOException {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(run, name);
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(target.getParent(), "." + target.getName() + ".tmp");
    fs.delete(tmp, true);
    fs.mkdirs(tmp);
    return tmp;
  }

  void commitPublished(String name) throws IOException {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(run, name);
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(target.getParent(), "." + target.getName() + ".tmp");
    fs.delete(target, true);
    if (!fs.rename(tmp, target)) throw new IOException("could not rename " + tmp + " to " + target);
  }

  /** Writes trainer_state.json into a checkpoint directory being written. */
  void writeState(org.apache.hadoop.fs.Path into, TrainerState state) throws IOException {
    try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(into, STATE), true)) {
      JSON.writeValue(out, state);
    }
  }

  /** Complete checkpoints, by step ascending. */
  List<Long> steps() throws IOException {
    List<Long> out = new ArrayList<>();
    if (!fs.exists(dir)) return out;
    for (FileStatus s : fs.listStatus(dir)) {
      Matcher m = STEP.matcher(s.getPath().getName());
      if (s.isDirectory() && m.matches() && fs.exists(new org.apache.hadoop.fs.Path(s.getPath(), STATE))) {
        out.add(Long.parseLong(m.group(1)));
      }
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }

  Optional<Long> latest() throws IOException {
    List<Long> s = steps();
    return s.isEmpty() ? Optional.empty() : Optional.of(s.get(s.size() - 1));
  }

  TrainerState state(long step) throws IOException {
    try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(dir, "step-" + step + "/" + STATE))) {
      TrainerState s = JSON.readValue(in, TrainerState.class);
      if (s.formatVersion() != TrainerState.FORMAT_VERSION) {
        throw new IOException("checkpoint step-" + step + " has trainer_state format " + s.formatVersion()
            + "; this laketune reads version " + TrainerState.FORMAT_VERSION);
      }
      return s;
    }
  }

  /** A checkpoint's laketune_lineage.json; null for checkpoints written before it existed. */
  Lineage lineage(long step) throws IOException {
    return Lineage.read(new org.apache.hadoop.fs.Path(dir, "step-" + step), fs.getConf());
  }

  /** A local copy of a checkpoint directory (to load the adapter or model from). */
  Path localCopy(long step) throws IOException {
    Path local = Files.createTempDirectory("laketune-ckpt-");
    org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(dir, "step-" + step);
    for (FileStatus s : fs.listStatus(src)) {
      fs.copyToLocalFile(false, s.getPath(), new org.apache.hadoop.fs.Path(local.resolve(s.getPath().getName()).toUri()), true);
    }
    return local;
  }

  /** {exp_avg, exp_avg_sq} of a checkpoint. */
  static float[][] optimizer(Path local) throws IOException {
    try (SafetensorsReader r = SafetensorsReader.open(local.resolve(OPTIMIZER))) {
      return new float[][] {r.read("exp_avg", org.nd4j.linalg.api.buffer.DataType.FLOAT).toFloatVector(),
          r.read("exp_avg_sq", org.nd4j.linalg.api.buffer.DataType.FLOAT).toFloatVector()};
    }
  }

  /** Deletes all but the last {@code keep} checkpoints and the best one. */
  void prune(int keep, Long best) throws IOException {
    List<Long> s = steps();
    for (int i = 0; i < s.size() - keep; i++) {
      if (best != null && s.get(i).equals(best)) continue;
      fs.delete(new org.apache.hadoop.fs.Path(dir, "step-" + s.get(i)), true);
    }
  }

  /** Copies a local directory to {@code <run>/<name>} (replacing it) through a temporary name. */
  void publish(Path local, String name) throws IOException {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(run, name);
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(target.getParent(), "." + target.getName() + ".tmp");
    fs.mkdirs(target.getParent());
    fs.delete(tmp, true);
    fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(local.toUri()), tmp);
    fs.delete(target, true);
    if (!fs.rename(tmp, target)) throw new IOException("could not rename " + tmp + " to " + target);
  }

  void writeFile(String name, byte[] bytes) throws IOException {
    try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(run, name), true)) {
      out.write(bytes);
    }
  }
}
