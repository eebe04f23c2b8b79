package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.laketune.io.SafetensorsReader;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.train.data.InMemoryRows;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The sharded path on a multi-JVM standalone cluster on 127.0.0.1 (three one-core executors in their
 * own JVMs): it equals today's path for 1, 2 and 3 workers, survives a killed executor with the same
 * result, and resumes a 3-worker checkpoint on 2 workers. Chunks are forced small (1000 elements: 29
 * chunks of the 28,832-value fixture) and checkpoint files smaller than the model, so every
 * multi-chunk and multi-file path runs.
 */
@Tag("integration")
class ShardedClusterTest {
  static StandaloneCluster cluster;
  static JavaSparkContext sc;
  static final InMemoryRows ROWS = TrainerTest.corpus("sharded", 36, 11);
  static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream(), true);
  @TempDir Path tmp;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    cluster = new StandaloneCluster(dir, 3, "3g");
    sc = cluster.context("laketune-sharded-test", 3, "700m");
    StandaloneCluster.awaitExecutors(sc, 3);
  }

  @AfterAll
  static void stop() throws Exception {
    if (sc != null) sc.stop();
    if (cluster != null) cluster.close();
    Replicas.clear();
  }

  /** Full fine-tuning with clipping that bites and weight decay, global batch 6 rows, 4 steps. */
  static TrainConfig config(Path output, int workers, String extra) {
    int micro = 6 / workers;
    String hocon = "laketune.train { model = \"" + Fixtures.dir("llama") + "\", data = \"in-memory\", output = \"" + output
        + "\", method = full, optimizer { lr = 0.002, weight_decay = 0.01, max_grad_norm = 0.5 }, schedule.type = cosine, "
        + "workers = " + workers + ", batch.micro_batch_size = " + micro + ", max_steps = 4, seed = 3 }\n" + extra;
    return TrainConfig.parse(ConfigFactory.parseString(hocon), List.of());
  }

  static final String SHARDED = "laketune.train { sync { sharded = true, chunk_elements = 1000 }, checkpoint.max_file_bytes = 20000 }";

  static Trainer.Result run(TrainConfig cfg) throws Exception {
    return new Trainer(sc, cfg, ROWS, null, "synthetic", QUIET).run();
  }

  static List<Double> losses(Trainer.Result r) {
    return r.history().stream().filter(e -> e.containsKey("loss")).map(e -> ((Number) e.get("loss")).doubleValue()).toList();
  }

  static double maxDiff(List<Double> a, List<Double> b) {
    assertEquals(a.size(), b.size(), "as many logged steps");
    double d = 0;
    for (int i = 0; i < a.size(); i++) d = Math.max(d, Math.abs(a.get(i) - b.get(i)));
    return d;
  }

  @Test
  void shardedEqualsTodaysPathForOneTwoAndThreeWorkers() throws Exception {
    for (int n = 1; n <= 3; n++) {
      Path ref = tmp.resolve("unsharded-" + n), sh = tmp.resolve("sharded-" + n);
      Trainer.Result a = run(config(ref, n, "laketune.train.sync.sharded = false"));
      Trainer.Result b = run(config(sh, n, SHARDED));
      double w = TrainerTest.fullModel(ref).sub(TrainerTest.fullModel(sh)).amaxNumber().doubleValue();
      double l = maxDiff(losses(a), losses(b));
      System.out.printf("sharded vs unsharded, %d workers: weights %.3g, losses %.3g%n", n, w, l);
      assertTrue(w < 1e-6, n + " workers: final weights differ by " + w);
      assertTrue(l < 1e-6, n + " workers: losses differ by " + l);
      assertTrue(TrainerTest.fullModel(sh).sub(io.laketune.model.HfModels.load(Fixtures.dir("llama"),
          io.laketune.model.HfModels.Options.fullTraining()).params().flatValues()).amaxNumber().doubleValue() > 1e-4, "training moved the weights");
    }
    // the final model is Hugging Face's sharded layout, split at max_file_bytes
    Path fin = tmp.resolve("sharded-3/final/model");
    JsonNode index = CheckpointStore.JSON.readTree(fin.resolve("model.safetensors.index.json").toFile());
    long files;
    try (Stream<Path> s = Files.list(fin)) {
      files = s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
    }
    assertTrue(files > 3, "several model shards: " + files);
    assertEquals(4L * TrainerTest.fullModel(tmp.resolve("sharded-3")).length(), index.path("metadata").path("total_size").asLong());
    try (SafetensorsReader r = SafetensorsReader.open(fin.resolve(index.path("weight_map").path("lm_head.weight").asText()))) {
      assertTrue(r.contains("lm_head.weight"));
    }
  }

  @Test
  void anExecutorKilledMidRoundChangesNothing() throws Exception {
    String ckpt = "laketune.train.checkpoint.every_steps = 2";
    Path whole = tmp.resolve("whole"), killed = tmp.resolve("killed");
    Trainer.Result ref = run(config(whole, 3, SHARDED + "\n" + ckpt));
    // worker 1's executor halts in the middle of step index 3 (after its backward, before its shuffle write)
    sc.setLocalProperty(Worker.HALT_ONCE, "3:1:" + tmp.resolve("halted"));
    Trainer.Result res;
    try {
      res = run(config(killed, 3, SHARDED + "\n" + ckpt));
    } finally {
      sc.setLocalProperty(Worker.HALT_ONCE, null);
    }
    assertTrue(Files.exists(tmp.resolve("halted")), "the hook killed an executor");
    double w = TrainerTest.fullModel(whole).sub(TrainerTest.fullModel(killed)).amaxNumber().doubleValue();
    System.out.printf("killed executor vs uninterrupted: weights %.3g, losses %.3g%n", w, maxDiff(losses(ref), losses(res)));
    assertEquals(0.0, w, 0.0, "the same final weights, bit for bit");
    assertEquals(losses(ref), losses(res), "the same loss curve");
    StandaloneCluster.awaitExecutors(sc, 3);
  }

  @Test
  void aCheckpointOfThreeWorkersResumesOnTwo() throws Exception {
    String ckpt = "laketune.train { checkpoint.every_steps = 2, checkpoint.keep_last = 3 }";
    Path three = tmp.resolve("three"), cut = tmp.resolve("cut");
    Trainer.Result ref = run(config(three, 3, SHARDED + "\n" + ckpt));
    run(config(cut, 3, SHARDED + "\n" + ckpt));
    Path step2 = cut.resolve("checkpoints/step-2");
    try (Stream<Path> s = Files.list(step2)) {
      assertEquals(3, s.filter(p -> p.getFileName().toString().startsWith("optimizer-")).count(), "one optimizer shard per worker");
    }
    // as if the 3-worker run had stopped after step 2: drop what came later, then go on with 2 workers
    deleteTree(cut.resolve("checkpoints/step-4"));
    deleteTree(cut.resolve("final"));
    Trainer.Result res = run(config(cut, 2, "laketune.train { sync { sharded = true, chunk_elements = 777 }, checkpoint.max_file_bytes = 50000 }\n" + ckpt));
    INDArray a = TrainerTest.fullModel(three), b = TrainerTest.fullModel(cut);
    double w = a.sub(b).amaxNumber().doubleValue();
    double l = maxDiff(losses(ref), losses(res));
    System.out.printf("3 workers vs 3 then 2 workers: weights %.3g, losses %.3g%n", w, l);
    assertTrue(w < 1e-6, "the weights continue: differ by " + w);
    assertTrue(l < 1e-6, "the losses continue: differ by " + l);
    // and the resumed checkpoint's model loads as a Hugging Face directory
    assertEquals(a.length(), HfModels.load(cut.resolve("checkpoints/step-4"), HfModels.Options.fullTraining()).params().flatValues().length());
  }

  static void deleteTree(Path p) throws Exception {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(x);
    }
  }
}
