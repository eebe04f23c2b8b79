package io.laketune.train;

import com.typesafe.config.ConfigFactory;
import io.laketune.bench.SyncBenchmark;
import io.laketune.train.data.InMemoryRows;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Per-round sync cost of full fine-tuning of the benchmark model (Llama-shaped, hidden 512, 8 layers,
 * vocab 8192: 34 M parameters) with 2 workers on a multi-JVM standalone cluster on 127.0.0.1 (two
 * one-core executors, each in its own JVM), for today's path ({@code unsharded}) and the sharded path
 * with fp32 or bf16 payloads (and LoRA r = 16 on every linear, single aggregate or sharded); and the resident memory of the driver and of each executor (VmHWM, the
 * peak resident set the kernel reports in /proc/PID/status).
 *
 * <p>Run one mode per driver JVM so that the driver's peak belongs to that mode alone:
 * {@code java -Xmx4g <spark java options> -cp <test classpath> io.laketune.train.ShardedSyncBenchmark
 * unsharded|fp32|bf16|lora-unsharded|lora-sharded [steps]}.
 */
public final class ShardedSyncBenchmark {
  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "fp32";
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path work = Files.createTempDirectory("laketune-sharded-bench");
    Path model = SyncBenchmark.writeModel(work.resolve("model"));
    InMemoryRows data = SyncBenchmark.rows();
    String sync = switch (mode) {
      case "unsharded" -> "sync.sharded = false";
      case "fp32" -> "sync { sharded = true, payload = fp32 }";
      case "bf16" -> "sync { sharded = true, payload = bf16 }";
      case "lora-unsharded" -> "sync.sharded = false";
      case "lora-sharded" -> "sync.sharded = true";
      default -> throw new IllegalArgumentException("mode must be unsharded, fp32, bf16, lora-unsharded or lora-sharded, not " + mode);
    };
    // the LoRA modes train SyncBenchmark's adapter: r = 16 on every linear
    String method = mode.startsWith("lora") ? "lora, frozen_dtype = fp32, lora { r = 16, alpha = 32, dropout = 0.0, target_modules = all-linear }" : "full";
    try (StandaloneCluster cluster = new StandaloneCluster(work.resolve("cluster"), 2, "8g")) {
      JavaSparkContext sc = cluster.context("laketune sharded sync benchmark", 2, "3g");
      sc.setLogLevel("WARN");
      try {
        StandaloneCluster.awaitExecutors(sc, 2);
        String hocon = "laketune.train { model = \"" + model + "\", data = \"in-memory\", output = \"" + work.resolve("run")
            + "\", method = " + method + ", workers = 2, batch.micro_batch_size = 2, max_steps = " + steps + ", optimizer.lr = 1e-4, " + sync + " }";
        TrainConfig tc = TrainConfig.parse(ConfigFactory.parseString(hocon), List.of());
        Trainer.Result r = new Trainer(sc, tc, data, null, "bench", new PrintStream(System.err, true)).run();
        // the first round loads the model on the workers: report the others
        List<Map<String, Object>> rounds = r.history().stream().filter(e -> e.containsKey("sync_ms")).skip(1).toList();
        double syncMs = rounds.stream().mapToDouble(e -> ((Number) e.get("sync_ms")).doubleValue()).average().orElse(0);
        double roundMs = rounds.stream().mapToDouble(e -> ((Number) e.get("round_ms")).doubleValue()).average().orElse(0);
        long bytes = ((Number) rounds.get(0).get("sync_bytes")).longValue();
        String parts = rounds.get(0).containsKey("gather_ms") ? String.format(" (gather %.0f ms, AdamW job %.0f ms)",
            rounds.stream().mapToDouble(e -> ((Number) e.get("gather_ms")).doubleValue()).average().orElse(0),
            rounds.stream().mapToDouble(e -> ((Number) e.getOrDefault("update_ms", 0)).doubleValue()).average().orElse(0)) : "";
        // executors' own peaks, read inside tasks (8 tasks reach both one-core executors)
        Map<String, String> executors = new TreeMap<>();
        for (String[] e : sc.parallelize(IntStream.range(0, 8).boxed().toList(), 8)
            .map(i -> new String[] {SparkEnv.get().executorId(), status("VmHWM"), status("VmRSS")}).collect()) {
          executors.put(e[0], "VmHWM " + e[1] + ", VmRSS " + e[2]);
        }
        System.out.printf("%s: %,d payload bytes per round (%.1f MB), sync %.0f ms%s of a %.0f ms round (mean of rounds 2..%d); losses %s%n",
            mode, bytes, bytes / 1e6, syncMs, parts, roundMs, steps,
            r.history().stream().filter(e -> e.containsKey("loss")).map(e -> String.format("%.5f", (Double) e.get("loss"))).toList());
        System.out.printf("%s: driver VmHWM %s, VmRSS %s; executors %s%n", mode, status("VmHWM"), status("VmRSS"), executors);
      } finally {
        sc.stop();
      }
    }
  }

  /** A field of /proc/self/status, e.g. "VmHWM" → "1234 MB". */
  static String status(String field) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith(field + ":")) {
        long kb = Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
        return (kb / 1024) + " MB";
      }
    }
    return "?";
  }
}
