package io.laketune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.io.DType;
import io.laketune.io.HalfFloats;
import io.laketune.io.SafetensorsHeader;
import io.laketune.io.TensorInfo;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The files of a sharded checkpoint, written by the executors in parallel straight to the Hadoop
 * FileSystem, and read back by range whatever the worker count that wrote them.
 *
 * <pre>
 * model.safetensors, or model-0000k-of-0000M.safetensors + model.safetensors.index.json
 *     Hugging Face's sharded layout (transformers loads it): whole tensors in flat-layout order, F32,
 *     files cut at {@code max_file_bytes} of tensor data; planned from the layout alone, so the same
 *     files whatever the worker count. File k is written by one task from the shards it overlaps.
 * optimizer-0000s-of-0000S.safetensors + optimizer.index.json
 *     one file per shard: "exp_avg" and "exp_avg_sq", F32 [end - start], elements [start, end) of the
 *     flat vector; the index lists every file's range, the step count and the total.
 * </pre>
 *
 * A checkpoint of the unsharded path (optimizer.safetensors holding the whole moments) reads the same
 * way, as one piece covering everything. Each file is written under a hidden name and renamed, so a
 * retried task never leaves half a file behind.
 */
final class ShardFiles {
  static final String MODEL_SINGLE = "model.safetensors";
  static final String MODEL_INDEX = "model.safetensors.index.json";
  static final String OPTIMIZER_INDEX = "optimizer.index.json";
  static final String OPTIMIZER_FORMAT = "laketune-sharded-adamw";
  static final int OPTIMIZER_FORMAT_VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Elements converted per read or write step: 4 MiB of fp32. */
  private static final int IO_ELEMENTS = 1 << 20;

  private ShardFiles() {}

  /** One model file: layout tensors [firstTensor, endTensor). */
  record FileSpec(String name, int firstTensor, int endTensor) implements Serializable {
    long start(TrainableLayout l) {
      return l.offsets()[firstTensor];
    }

    long end(TrainableLayout l) {
      return l.offsets()[endTensor];
    }
  }

  /** Tensors in order into files of at most maxFileBytes of F32 data (a larger tensor gets a file of its own). */
  static List<FileSpec> modelPlan(TrainableLayout l, long maxFileBytes) {
    List<int[]> cuts = new ArrayList<>();
    int first = 0;
    long used = 0;
    for (int i = 0; i < l.size(); i++) {
      long bytes = Math.multiplyExact(l.numel(i), 4L);
      if (used > 0 && used + bytes > maxFileBytes) {
        cuts.add(new int[] {first, i});
        first = i;
        used = 0;
      }
      used += bytes;
    }
    cuts.add(new int[] {first, l.size()});
    List<FileSpec> out = new ArrayList<>();
    for (int k = 0; k < cuts.size(); k++) {
      String name = cuts.size() == 1 ? MODEL_SINGLE : String.format("model-%05d-of-%05d.safetensors", k + 1, cuts.size());
      out.add(new FileSpec(name, cuts.get(k)[0], cuts.get(k)[1]));
    }
    return out;
  }

  static String optimizerFileName(int shard, int shards) {
    return String.format("optimizer-%05d-of-%05d.safetensors", shard + 1, shards);
  }

  /** Shards whose element ranges overlap [start, end), ascending. */
  static int[] overlapping(Chunking ch, long start, long end) {
    List<Integer> out = new ArrayList<>();
    for (int s = 0; s < ch.shards(); s++) {
      if (ch.chunksOf(s) > 0 && ch.shardStart(s) < end && ch.shardEnd(s) > start) out.add(s);
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  // ---- writing (executors) ----

  /** Streams model file f from the blocks of the shards it overlaps, which arrive in shard order. */
  static void writeModelFile(FileSystem fs, Path dir, FileSpec f, TrainableLayout l, Chunking ch, Iterator<ParamBlock> blocks)
      throws IOException {
    long fa = f.start(l), fb = f.end(l);
    Map<String, Object[]> tensors = new LinkedHashMap<>();
    for (int i = f.firstTensor(); i < f.endTensor(); i++) {
      tensors.put(l.names()[i], new Object[] {l.shapes()[i], 4 * (l.offsets()[i] - fa), 4 * (l.offsets()[i + 1] - fa)});
    }
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    try (AtomicFile out = new AtomicFile(fs, new Path(dir, f.name()))) {
      writeHeader(out.stream(), meta, tensors);
      float[] tmp = new float[Math.max(1, (int) Math.min(ch.chunkElements(), ch.total()))];
      ByteBuffer buf = ByteBuffer.allocate(4 * IO_ELEMENTS).order(ByteOrder.LITTLE_ENDIAN);
      long pos = fa;
      while (blocks.hasNext()) {
        ParamBlock b = blocks.next();
        for (int i = 0; i < b.chunks(); i++) {
          int c = b.firstChunk + i;
          long cs = ch.chunkStart(c), ce = cs + ch.chunkLength(c);
          if (ce <= pos || cs >= fb) continue;
          if (cs > pos) throw new IllegalStateException("chunk " + c + " of " + f.name() + " arrived before chunk " + ch.chunkOf(pos));
          b.read(0, i, tmp);
          int from = (int) (pos - cs), to = (int) (Math.min(ce, fb) - cs);
          writeFloats(out.stream(), tmp, from, to, buf);
          pos = cs + to;
        }
      }
      if (pos != fb) throw new IllegalStateException(f.name() + " got elements up to " + pos + " of [" + fa + ", " + fb + ")");
      out.commit();
    }
  }

  /** The shard's two moments over its element range, with the step count in the metadata. */
  static void writeOptimizerShard(FileSystem fs, Path dir, String name, ShardState s, Chunking ch) throws IOException {
    long a = ch.shardStart(s.shard()), b = ch.shardEnd(s.shard());
    Map<String, Object[]> tensors = new LinkedHashMap<>();
    tensors.put("exp_avg", new Object[] {new long[] {b - a}, 0L, 4 * (b - a)});
    tensors.put("exp_avg_sq", new Object[] {new long[] {b - a}, 4 * (b - a), 8 * (b - a)});
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", OPTIMIZER_FORMAT);
    meta.put("optimizer", "AdamW");
    meta.put("step", Long.toString(s.steps()));
    meta.put("start", Long.toString(a));
    meta.put("end", Long.toString(b));
    try (AtomicFile out = new AtomicFile(fs, new Path(dir, name))) {
      writeHeader(out.stream(), meta, tensors);
      ByteBuffer buf = ByteBuffer.allocate(4 * IO_ELEMENTS).order(ByteOrder.LITTLE_ENDIAN);
      for (float[] c : s.m()) writeFloats(out.stream(), c, 0, c.length, buf);
      for (float[] c : s.v()) writeFloats(out.stream(), c, 0, c.length, buf);
      out.commit();
    }
  }

  private static void writeFloats(OutputStream out, float[] x, int from, int to, ByteBuffer buf) throws IOException {
    for (int i = from; i < to; ) {
      int n = Math.min(to - i, buf.capacity() / 4);
      buf.clear();
      buf.asFloatBuffer().put(x, i, n);
      out.write(buf.array(), 0, 4 * n);
      i += n;
    }
  }

  /** safetensors header: u64 LE length, JSON with __metadata__ first, padded with spaces to 8 bytes. */
  private static void writeHeader(OutputStream out, Map<String, String> meta, Map<String, Object[]> tensors) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode m = root.putObject("__metadata__");
    meta.forEach(m::put);
    for (Map.Entry<String, Object[]> e : tensors.entrySet()) {
      ObjectNode t = root.putObject(e.getKey());
      t.put("dtype", "F32");
      ArrayNode shape = t.putArray("shape");
      for (long d : (long[]) e.getValue()[0]) shape.add(d);
      t.putArray("data_offsets").add((Long) e.getValue()[1]).add((Long) e.getValue()[2]);
    }
    byte[] json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    byte[] h = Arrays.copyOf(json, padded);
    Arrays.fill(h, json.length, padded, (byte) ' ');
    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded).array());
    out.write(h);
  }

  /** A file written under a hidden name, renamed into place by commit (and deleted otherwise). */
  private static final class AtomicFile implements Closeable {
    private final FileSystem fs;
    private final Path target;
    private final Path tmp;
    private final OutputStream out;
    private boolean done;

    AtomicFile(FileSystem fs, Path target) throws IOException {
      this.fs = fs;
      this.target = target;
      org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
      String attempt = tc == null ? Long.toString(System.nanoTime()) : Long.toString(tc.taskAttemptId());
      this.tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + attempt);
      this.out = new java.io.BufferedOutputStream(fs.create(tmp, true), 1 << 20);
    }

    OutputStream stream() {
      return out;
    }

    void commit() throws IOException {
      out.close();
      fs.delete(target, false);
      if (!fs.rename(tmp, target)) throw new IOException("could not rename " + tmp + " to " + target);
      done = true;
    }

    @Override
    public void close() throws IOException {
      if (!done) {
        out.close();
        fs.delete(tmp, false);
      }
    }
  }

  // ---- index files (driver) ----

  /** model.safetensors.index.json as transformers writes it, when there is more than one file. */
  static void writeModelIndex(FileSystem fs, Path dir, List<FileSpec> files, TrainableLayout l) throws IOException {
    if (files.size() == 1) return;
    Map<String, String> weightMap = new TreeMap<>();
    for (FileSpec f : files) for (int i = f.firstTensor(); i < f.endTensor(); i++) weightMap.put(l.names()[i], f.name());
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", 4 * l.total());
    ObjectNode map = index.putObject("weight_map");
    weightMap.forEach(map::put);
    writeJson(fs, new Path(dir, MODEL_INDEX), index);
  }

  static void writeOptimizerIndex(FileSystem fs, Path dir, Chunking ch, long steps) throws IOException {
    ObjectNode index = JSON.createObjectNode();
    index.put("format", OPTIMIZER_FORMAT);
    index.put("format_version", OPTIMIZER_FORMAT_VERSION);
    index.put("optimizer", "AdamW");
    index.put("step", steps);
    index.put("total_elements", ch.total());
    ArrayNode files = index.putArray("files");
    for (int s = 0; s < ch.shards(); s++) {
      if (ch.chunksOf(s) == 0) continue;
      files.addObject().put("file", optimizerFileName(s, ch.shards())).put("start", ch.shardStart(s)).put("end", ch.shardEnd(s));
    }
    writeJson(fs, new Path(dir, OPTIMIZER_INDEX), index);
  }

  static void writeJson(FileSystem fs, Path file, JsonNode node) throws IOException {
    try (OutputStream out = fs.create(file, true)) {
      out.write((JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8));
    }
  }

  // ---- reading by range (executors, any worker count) ----

  /**
   * Reads element ranges of a checkpoint's values (its model files) and moments (its optimizer files)
   * with positioned reads, never more than a few MiB at a time. Not thread-safe; one per task.
   */
  static final class Reader implements Closeable {
    private final FileSystem fs;
    private final Path dir;
    private final TrainableLayout layout;
    private final Map<String, String> weightMap = new HashMap<>();
    private final Map<String, Header> headers = new HashMap<>();
    private final Map<String, FSDataInputStream> streams = new HashMap<>();
    private final List<long[]> pieceRanges = new ArrayList<>();
    private final List<String> pieceFiles = new ArrayList<>();
    private final long steps;
    private final byte[] io = new byte[4 * IO_ELEMENTS];

    private record Header(long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

    Reader(FileSystem fs, Path dir, TrainableLayout layout) throws IOException {
      this.fs = fs;
      this.dir = dir;
      this.layout = layout;
      Path index = new Path(dir, MODEL_INDEX);
      if (fs.exists(index)) {
        JsonNode map = readJson(index).path("weight_map");
        map.fields().forEachRemaining(e -> weightMap.put(e.getKey(), e.getValue().asText()));
      } else {
        for (String n : layout.names()) weightMap.put(n, MODEL_SINGLE);
      }
      Path optIndex = new Path(dir, OPTIMIZER_INDEX);
      if (fs.exists(optIndex)) {
        JsonNode o = readJson(optIndex);
        if (!OPTIMIZER_FORMAT.equals(o.path("format").asText()) || o.path("format_version").asInt() != OPTIMIZER_FORMAT_VERSION) {
          throw new IOException(optIndex + " is not a " + OPTIMIZER_FORMAT + " index of version " + OPTIMIZER_FORMAT_VERSION
              + "; it was written by another laketune version");
        }
        if (o.path("total_elements").asLong() != layout.total()) {
          throw new IOException(optIndex + " covers " + o.path("total_elements").asLong() + " elements but the model trains "
              + layout.total() + "; the checkpoint belongs to another model");
        }
        steps = o.path("step").asLong();
        for (JsonNode f : o.path("files")) {
          pieceFiles.add(f.path("file").asText());
          pieceRanges.add(new long[] {f.path("start").asLong(), f.path("end").asLong()});
        }
      } else {
        // the unsharded path's optimizer.safetensors: the whole moments in one piece
        pieceFiles.add(CheckpointStore.OPTIMIZER);
        pieceRanges.add(new long[] {0, layout.total()});
        steps = Long.parseLong(header(CheckpointStore.OPTIMIZER).metadata().getOrDefault("step", "0"));
      }
    }

    long optimizerSteps() {
      return steps;
    }

    /** dst[0, n) = values of elements [from, from + n). */
    void readValues(long from, float[] dst, int n) throws IOException {
      long to = from + n;
      // the tensor holding element `from`: the last offset <= from (zero-size tensors are skipped below)
      int i = Arrays.binarySearch(layout.offsets(), from);
      if (i < 0) i = -i - 2;
      for (; i < layout.size() && layout.offsets()[i] < to; i++) {
        long a = Math.max(from, layout.offsets()[i]), b = Math.min(to, layout.offsets()[i + 1]);
        if (a >= b) continue;
        String name = layout.names()[i];
        String file = weightMap.get(name);
        if (file == null) throw new IOException(new Path(dir, MODEL_INDEX) + " has no entry for tensor '" + name + "'");
        TensorInfo t = header(file).tensors().get(name);
        if (t == null) throw new IOException(new Path(dir, file) + " has no tensor '" + name + "'");
        if (!Arrays.equals(t.shape(), layout.shapes()[i])) {
          throw new IOException(new Path(dir, file) + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
              + " but the model needs " + Arrays.toString(layout.shapes()[i]));
        }
        read(file, t, a - layout.offsets()[i], dst, (int) (a - from), (int) (b - a));
      }
    }

    /** dst[0, n) = moment {@code name} ("exp_avg" or "exp_avg_sq") of elements [from, from + n). */
    void readMoment(String name, long from, float[] dst, int n) throws IOException {
      long to = from + n, covered = 0;
      for (int k = 0; k < pieceFiles.size(); k++) {
        long[] r = pieceRanges.get(k);
        long a = Math.max(from, r[0]), b = Math.min(to, r[1]);
        if (a >= b) continue;
        TensorInfo t = header(pieceFiles.get(k)).tensors().get(name);
        if (t == null || t.numel() != r[1] - r[0]) {
          throw new IOException(new Path(dir, pieceFiles.get(k)) + " has no " + name + " of " + (r[1] - r[0]) + " elements");
        }
        read(pieceFiles.get(k), t, a - r[0], dst, (int) (a - from), (int) (b - a));
        covered += b - a;
      }
      if (covered != n) throw new IOException(dir + ": the optimizer files do not cover elements [" + from + ", " + to + ")");
    }

    private void read(String file, TensorInfo t, long elem, float[] dst, int at, int n) throws IOException {
      DType d = t.dtype();
      if (d != DType.F32 && d != DType.BF16 && d != DType.F16) {
        throw new IOException(new Path(dir, file) + ": tensor '" + t.name() + "' is " + d.safetensorsName() + "; expected F32, BF16 or F16");
      }
      Header h = header(file);
      FSDataInputStream in = streams.get(file);
      for (int done = 0; done < n; ) {
        int k = Math.min(n - done, IO_ELEMENTS);
        long pos = h.dataStart() + t.begin() + (elem + done) * d.size();
        in.readFully(pos, io, 0, k * d.size());
        ByteBuffer b = ByteBuffer.wrap(io, 0, k * d.size()).order(ByteOrder.LITTLE_ENDIAN);
        if (d == DType.F32) {
          b.asFloatBuffer().get(dst, at + done, k);
        } else {
          for (int j = 0; j < k; j++) {
            short s = b.getShort();
            dst[at + done + j] = d == DType.BF16 ? HalfFloats.bf16BitsToFloat(s) : HalfFloats.f16BitsToFloat(s);
          }
        }
        done += k;
      }
    }

    private Header header(String file) throws IOException {
      Header h = headers.get(file);
      if (h != null) return h;
      Path p = new Path(dir, file);
      FSDataInputStream in = fs.open(p);
      streams.put(file, in);
      long size = fs.getFileStatus(p).getLen();
      byte[] len = new byte[8];
      in.readFully(0, len);
      long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (n < 0 || n > SafetensorsHeader.MAX_HEADER_BYTES || n > size - 8) {
        throw new IOException(p + " is not a safetensors file: it declares a " + n + "-byte header in " + size + " bytes");
      }
      byte[] json = new byte[(int) n];
      in.readFully(8, json);
      SafetensorsHeader parsed = SafetensorsHeader.parse(json, size, java.nio.file.Path.of(p.toString()));
      Map<String, TensorInfo> byName = new HashMap<>();
      for (TensorInfo t : parsed.tensors()) byName.put(t.name(), t);
      h = new Header(parsed.dataStart(), byName, parsed.metadata());
      headers.put(file, h);
      return h;
    }

    private JsonNode readJson(Path p) throws IOException {
      try (InputStream in = fs.open(p)) {
        return JSON.readTree(in);
      }
    }

    @Override
    public void close() throws IOException {
      for (FSDataInputStream s : streams.values()) s.close();
    }
  }
}
