package io.laketune.cli;

import io.laketune.train.Lineage;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What {@code laketune inspect --run DIR} prints: the lineage of each final output (adapter, model,
 * merged) and checkpoint of a training run — the dataset and its source version, the config hash,
 * the base model and its weights hash — from their laketune_lineage.json.
 */
final class RunLineageView {

  private RunLineageView() {}

  static void print(String run, Configuration conf, PrintStream out) throws IOException {
    Path root = new Path(run);
    FileSystem fs = root.getFileSystem(conf);
    if (!fs.exists(root)) {
      throw new IllegalArgumentException("--run " + run + " does not exist; give a training run's output directory.");
    }
    List<Path> dirs = new ArrayList<>();
    for (String name : List.of("final/adapter", "final/model", "final/merged")) {
      if (fs.exists(new Path(root, name))) {
        dirs.add(new Path(root, name));
      }
    }
    Path checkpoints = new Path(root, "checkpoints");
    if (fs.exists(checkpoints)) {
      List<FileStatus> steps = new ArrayList<>();
      for (FileStatus s : fs.listStatus(checkpoints)) {
        if (s.isDirectory() && s.getPath().getName().matches("step-\\d+")) {
          steps.add(s);
        }
      }
      steps.sort(Comparator.comparingLong(s -> Long.parseLong(s.getPath().getName().substring(5))));
      steps.forEach(s -> dirs.add(s.getPath()));
    }
    int shown = 0;
    for (Path dir : dirs) {
      Lineage l = Lineage.read(dir, conf);
      String name = root.toUri().relativize(dir.toUri()).toString();
      if (l == null) {
        out.println(name + ": no " + Lineage.FILE + " (written before laketune recorded lineage)");
        continue;
      }
      shown++;
      out.printf(Locale.ROOT, "%s: %s of a %s run, step %d%n", name, l.artifact(), l.method(), l.step());
      out.println("  dataset: " + l.dataset().describe());
      if (l.dataset().source() != null && l.dataset().source().hasNonNull("query")) {
        out.println("  query: " + l.dataset().source().get("query").asText());
      }
      out.println("  config sha256: " + l.configSha256());
      Lineage.BaseModel b = l.baseModel();
      out.printf(Locale.ROOT, "  base model: %s, config sha256 %s, %d weights files, weights sha256 %s%n", b.path(),
          b.configSha256(), b.weights().size(), b.weightsSha256());
    }
    if (dirs.isEmpty()) {
      throw new IllegalArgumentException("--run " + run + " has no final/ outputs or checkpoints/; is it a training"
          + " run's output directory?");
    }
    if (shown == 0) {
      out.println("No lineage recorded in " + run + ".");
    }
  }
}
