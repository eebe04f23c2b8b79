package io.laketune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.laketune.io.DType;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.nn.Param;
import io.laketune.prep.pack.PackedRow;
import io.laketune.train.TrainConfig;
import io.laketune.train.Trainer;
import io.laketune.train.data.InMemoryRows;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The training job's per-round synchronisation cost and throughput on the core benchmark model
 * (Llama-shaped, hidden 512, 8 layers, vocab 8192; seq 256), 2 workers in Spark local mode, for
 * LoRA (r=16, all linear modules) and full training: bytes moved per round (broadcast of the
 * trainable vector + one gradient vector per worker), round time minus the slowest worker's
 * compute ("sync ms": broadcast, scheduling, aggregation, the driver's AdamW step), tokens/s.
 *
 * <p>Run: {@code java -cp <classpath> io.laketune.bench.SyncBenchmark [steps]}.
 */
public final class SyncBenchmark {
  /** The benchmark model (Llama-shaped, hidden 512, 8 layers, vocab 8192; 34 M parameters), seeded, as an HF directory. */
  public static Path writeModel(Path model) throws java.io.IOException {
    return writeModel(model, 8192, List.of());
  }

  /**
   * The same shape with {@code vocab} tokens (a real tokenizer's), seeded: weights N(0, 0.02), norms
   * 1 + N(0, 0.02); {@code extraFiles} (tokenizer.json, tokenizer_config.json) copied beside them.
   */
  public static Path writeModel(Path model, int vocab, List<Path> extraFiles) throws java.io.IOException {
    String json = """
        {"model_type":"llama","vocab_size":%d,"hidden_size":512,"intermediate_size":1408,
         "num_hidden_layers":8,"num_attention_heads":8,"num_key_value_heads":8,"rms_norm_eps":1e-5,
         "tie_word_embeddings":false,"max_position_embeddings":4096}""".formatted(vocab);
    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(json), "benchmark config");
    CausalLm m = HfModels.create(cfg, HfModels.Options.inference());
    Nd4j.getRandom().setSeed(1);
    for (Param p : m.params().all().values()) p.set(Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.02).addi(p.shape().length == 1 ? 1 : 0));
    HfModels.save(m, model, DType.F32, Long.MAX_VALUE, extraFiles);
    return model;
  }

  /** 64 rows of 256 seeded random tokens. */
  public static InMemoryRows rows() {
    Random rnd = new Random(2);
    List<PackedRow> rows = new ArrayList<>();
    for (int r = 0; r < 64; r++) {
      int[] ids = new int[256];
      for (int t = 0; t < ids.length; t++) ids[t] = rnd.nextInt(8192);
      rows.add(new PackedRow(ids, ids.clone(), new int[] {256}));
    }
    return new InMemoryRows("bench", rows, 256);
  }

  /**
   * Spark's own view of each round's job: from submission to the first task's launch, each task's
   * deserialization, run, result serialization and GC time, from the last task's end to the job's.
   */
  static final class TaskTimes extends org.apache.spark.scheduler.SparkListener {
    private final Map<Integer, long[]> jobs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Integer, Integer> stageJob = new java.util.concurrent.ConcurrentHashMap<>();
    // per job: submitted, first launch, last finish, ended, tasks, deserialize, run, result ser, gc, result bytes
    private static final int SUBMIT = 0, FIRST = 1, LAST = 2, END = 3, TASKS = 4, DESER = 5, RUN = 6, SER = 7, GC = 8, BYTES = 9;

    void clear() {
      jobs.clear();
      stageJob.clear();
    }

    @Override
    public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
      long[] j = new long[10];
      j[SUBMIT] = e.time();
      j[FIRST] = Long.MAX_VALUE;
      jobs.put(e.jobId(), j);
      for (Object id : scala.jdk.javaapi.CollectionConverters.asJava(e.stageIds())) stageJob.put((Integer) id, e.jobId());
    }

    @Override
    public synchronized void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) {
      Integer job = stageJob.get(e.stageId());
      long[] j = job == null ? null : jobs.get(job);
      if (j == null || e.taskMetrics() == null) return;
      j[FIRST] = Math.min(j[FIRST], e.taskInfo().launchTime());
      j[LAST] = Math.max(j[LAST], e.taskInfo().finishTime());
      j[TASKS]++;
      j[DESER] += e.taskMetrics().executorDeserializeTime();
      j[RUN] += e.taskMetrics().executorRunTime();
      j[SER] += e.taskMetrics().resultSerializationTime();
      j[GC] += e.taskMetrics().jvmGCTime();
      j[BYTES] += e.taskMetrics().resultSize();
    }

    @Override
    public void onJobEnd(org.apache.spark.scheduler.SparkListenerJobEnd e) {
      long[] j = jobs.get(e.jobId());
      if (j != null) j[END] = e.time();
    }

    /** Means over the jobs after the first {@code skip}, in ms (result size in MB). */
    synchronized String summary(int skip) {
      List<long[]> done = jobs.entrySet().stream().sorted(Map.Entry.comparingByKey()).map(Map.Entry::getValue)
          .filter(j -> j[TASKS] > 0 && j[END] > 0).skip(skip).toList();
      if (done.isEmpty()) return "no jobs";
      double n = done.size();
      double launch = done.stream().mapToDouble(j -> j[FIRST] - j[SUBMIT]).sum() / n;
      double tail = done.stream().mapToDouble(j -> j[END] - j[LAST]).sum() / n;
      double tasks = done.stream().mapToDouble(j -> j[TASKS]).sum();
      double deser = done.stream().mapToDouble(j -> j[DESER]).sum() / tasks;
      double run = done.stream().mapToDouble(j -> j[RUN]).sum() / tasks;
      double ser = done.stream().mapToDouble(j -> j[SER]).sum() / tasks;
      double gc = done.stream().mapToDouble(j -> j[GC]).sum() / tasks;
      double mb = done.stream().mapToDouble(j -> j[BYTES]).sum() / tasks / 1e6;
      return String.format("submit to first launch %.0f, task deserialize %.0f, run %.0f, result serialize %.0f, GC %.0f,"
          + " result %.1f MB, last task end to job end %.0f", launch, deser, run, ser, gc, mb, tail);
    }
  }

  public static void main(String[] args) throws Exception {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 4;
    Path work = Files.createTempDirectory("laketune-sync-bench");
    Path model = writeModel(work.resolve("model"));
    InMemoryRows data = rows();
    JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("laketune sync benchmark")
        .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1"));
    sc.setLogLevel("WARN");
    TaskTimes times = new TaskTimes();
    sc.sc().addSparkListener(times);
    try {
      for (String method : new String[] {"lora", "full"}) {
        times.clear();
        String hocon = "laketune.train { model = \"" + model + "\", data = \"in-memory\", output = \"" + work.resolve("run-" + method)
            + "\", method = " + method + ", frozen_dtype = fp32, lora { r = 16, alpha = 32, dropout = 0.0, target_modules = all-linear }, "
            + "workers = 2, batch.micro_batch_size = 2, max_steps = " + steps + ", optimizer.lr = 1e-4, sync.sharded = false }";
        TrainConfig tc = TrainConfig.parse(ConfigFactory.parseString(hocon), List.of());
        Trainer.Result r = new Trainer(sc, tc, data, null, "bench", new PrintStream(System.err, true)).run();
        // the first round loads the model on the workers: report the others
        List<Map<String, Object>> rounds = r.history().stream().filter(e -> e.containsKey("sync_ms")).skip(1).toList();
        double sync = rounds.stream().mapToDouble(e -> ((Number) e.get("sync_ms")).doubleValue()).average().orElse(0);
        double round = rounds.stream().mapToDouble(e -> ((Number) e.get("round_ms")).doubleValue()).average().orElse(0);
        double tps = rounds.stream().mapToDouble(e -> ((Number) e.get("tokens_per_s")).doubleValue()).average().orElse(0);
        long bytes = ((Number) rounds.get(0).get("sync_bytes")).longValue();
        System.out.printf("%-4s: %,d bytes moved per round (%.1f MB), sync %.0f ms of a %.0f ms round (%.1f%%), %.0f tokens/s (2 workers, batch 2x2x256)%n",
            method, bytes, bytes / 1e6, sync, round, 100 * sync / round, tps);
        StringBuilder parts = new StringBuilder();
        for (String key : List.of("broadcast_ms", "launch_ms", "collect_ms", "update_ms")) {
          double ms = rounds.stream().mapToDouble(e -> ((Number) e.getOrDefault(key, 0)).doubleValue()).average().orElse(0);
          parts.append(String.format(" %s %.0f", key.replace("_ms", ""), ms));
        }
        System.out.println("      sync parts, ms:" + parts + " (the rest: worker start-up skew)");
        System.out.println("      Spark's task metrics, mean of rounds 2-" + steps + ": " + times.summary(1));
      }
    } finally {
      sc.stop();
    }
  }
}
