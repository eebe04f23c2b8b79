package io.laketune.train;

import io.laketune.model.LlamaConfig;
import io.laketune.model.MemoryPlan;
import io.laketune.model.ModelConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;

/**
 * The memory a run's executors need ({@link MemoryPlan}) against the memory they have, checked by
 * {@code laketune train} before it loads data or starts a round: an executor's is
 * spark.executor.memory + spark.executor.memoryOverhead (what YARN and Kubernetes grant a container);
 * in local mode the driver trains, and its limit is JavaCPP's maxPhysicalBytes (the resident memory
 * ND4J allows the whole process), or -Xmx + maxBytes when no physical limit is set.
 */
public final class MemoryCheck {
  private MemoryCheck() {}

  /** What an executor has: its heap, and the total its process may hold, with where the figures come from. */
  public record Executor(long heapBytes, long limitBytes, int tasks, String source) {}

  /** The executor memory of the application {@code conf} describes, training {@code workers} tasks. */
  public static Executor executor(SparkConf conf, int workers) {
    String master = conf.get("spark.master", "local[*]");
    if (master.startsWith("local")) {
      long heap = Runtime.getRuntime().maxMemory();
      long physical = org.bytedeco.javacpp.Pointer.maxPhysicalBytes();
      long offHeap = org.bytedeco.javacpp.Pointer.maxBytes();
      long limit = physical > 0 ? physical : offHeap > 0 ? heap + offHeap : Long.MAX_VALUE;
      String source = physical > 0
          ? "the driver's org.bytedeco.javacpp.maxphysicalbytes " + gb(physical) + " (local mode: the driver trains)"
          : "the driver's -Xmx " + gb(heap) + " + org.bytedeco.javacpp.maxbytes " + gb(offHeap) + " (local mode: the driver trains)";
      return new Executor(heap, limit, workers, source);
    }
    long heap = conf.getSizeAsBytes("spark.executor.memory", "1g");
    double factor = conf.getDouble("spark.executor.memoryOverheadFactor", 0.1);
    long overhead = conf.contains("spark.executor.memoryOverhead")
        ? conf.getSizeAsMb("spark.executor.memoryOverhead", "384") << 20
        : Math.max(384L << 20, (long) (factor * heap));
    int cores = conf.getInt("spark.executor.cores", 1), taskCpus = conf.getInt("spark.task.cpus", 1);
    int tasks = Math.max(1, Math.min(workers, cores / Math.max(1, taskCpus)));
    return new Executor(heap, heap + overhead, tasks, "spark.executor.memory " + gb(heap)
        + " + spark.executor.memoryOverhead " + gb(overhead));
  }

  /** The plan of {@code cfg} at {@code seqLen} tokens a row with {@code tasks} tasks an executor; null for a family the plan does not model. */
  public static MemoryPlan plan(TrainConfig cfg, int seqLen, int tasks, Configuration hadoop) {
    ModelConfig model = modelConfig(cfg.model(), hadoop);
    if (!(model instanceof LlamaConfig) || cfg.lora() != null && cfg.lora().useDora()) return null;
    return MemoryPlan.of(new MemoryPlan.Setup(model, MemoryPlan.Method.valueOf(cfg.method().name()), cfg.lora(),
        cfg.method() != TrainConfig.Method.FULL && cfg.frozenBf16(), cfg.quantize(), cfg.microBatch(), seqLen,
        cfg.activationCheckpointing(), tasks));
  }

  /** The base model's config.json, read from any Hadoop FileSystem. */
  static ModelConfig modelConfig(String model, Configuration hadoop) {
    Path file = new Path(model, "config.json");
    try (InputStream in = file.getFileSystem(hadoop).open(file)) {
      return ModelConfig.parse(new com.fasterxml.jackson.databind.ObjectMapper().readTree(in), file.toString());
    } catch (java.io.FileNotFoundException e) {
      throw new IllegalArgumentException(TrainConfig.ROOT + ".model = " + model + " has no config.json; point it at a"
          + " Hugging Face checkpoint directory", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** The resident memory of this JVM besides its heap: what a JVM running laketune holds before any model. */
  public static long jvmNativeBytes() {
    try {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          long rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
          Runtime r = Runtime.getRuntime();
          return Math.max(0, rss - (r.totalMemory() - r.freeMemory())); // resident less the heap in use
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: no figure
    }
    return 0;
  }

  /**
   * Refuses, in one sentence, a run whose predicted peak exceeds what an executor has.
   *
   * @param seqLen the dataset's packed row length
   */
  public static void require(MemoryPlan plan, Executor ex, TrainConfig cfg, int seqLen, long jvmNative) {
    long peak = plan.peakBytes(ex.heapBytes(), jvmNative);
    if (peak <= ex.limitBytes()) return;
    List<String> fixes = new ArrayList<>();
    if (cfg.microBatch() > 1) fixes.add("lower batch.micro_batch_size (now " + cfg.microBatch() + ")");
    fixes.add("prepare the data with a shorter seq_len (now " + seqLen + ")");
    if (!cfg.activationCheckpointing()) fixes.add("set activation_checkpointing = true");
    if (cfg.method() != TrainConfig.Method.QLORA) fixes.add("use method = qlora");
    fixes.add("give executors more memory");
    throw new IllegalArgumentException("the memory plan predicts a peak of " + gb(peak) + " per executor (JVM heap "
        + gb(ex.heapBytes()) + " + off-heap " + gb(plan.offHeapBytes()) + " + JVM native " + gb(jvmNative)
        + "), more than the " + gb(ex.limitBytes()) + " an executor has (" + ex.source() + "): "
        + String.join(", ", fixes.subList(0, fixes.size() - 1)) + " or " + fixes.get(fixes.size() - 1)
        + " (laketune plan shows the breakdown)");
  }

  static String gb(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.2f GB", bytes / 1073741824.0);
  }
}
