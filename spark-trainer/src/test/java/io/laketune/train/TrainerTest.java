package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.laketune.io.SafetensorsReader;
import io.laketune.model.Fixtures;
import io.laketune.prep.pack.PackedRow;
import io.laketune.train.data.InMemoryRows;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The training job in Spark local mode on the tiny llama fixture and a learnable synthetic corpus. */
@Tag("integration")
class TrainerTest {
  static final int SEQ = 16;
  @TempDir Path tmp;
  JavaSparkContext sc;

  @AfterEach
  void stop() {
    if (sc != null) sc.stop();
    Replicas.clear();
  }

  JavaSparkContext spark(String master) {
    if (sc != null) sc.stop();
    sc = new JavaSparkContext(new SparkConf().setMaster(master).setAppName("laketune-test")
        .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1"));
    return sc;
  }

  /** Arithmetic progressions mod 128, some rows holding two documents: easy to learn, held-out testable. */
  static InMemoryRows corpus(String key, int rows, long seed) {
    return corpus(key, rows, seed, 3);
  }

  static InMemoryRows corpus(String key, int rows, long seed, int maxStride) {
    Random rnd = new Random(seed);
    List<PackedRow> out = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      int[] lens = rnd.nextBoolean() ? new int[] {SEQ} : new int[] {7, SEQ - 7 - rnd.nextInt(3)};
      int n = 0;
      for (int l : lens) n += l;
      int[] ids = new int[n], labels = new int[n];
      int t = 0;
      for (int l : lens) {
        int a = rnd.nextInt(128), d = 1 + rnd.nextInt(maxStride);
        for (int k = 0; k < l; k++, t++) {
          ids[t] = (a + k * d) % 128;
          labels[t] = k == 0 && t > 0 ? -100 : ids[t];
        }
      }
      out.add(new PackedRow(ids, labels, lens));
    }
    return new InMemoryRows(key, out, SEQ);
  }

  TrainConfig config(String output, String extra) {
    String hocon = "laketune.train { model = \"" + Fixtures.dir("llama") + "\", data = \"in-memory\", output = \""
        + output + "\", method = lora, frozen_dtype = fp32, lora { r = 4, alpha = 8, dropout = 0.1, target_modules = all-linear }, "
        + "optimizer { lr = 0.01 }, schedule { type = constant }, batch { micro_batch_size = 2 }, seed = 5 }\n" + extra;
    return TrainConfig.parse(ConfigFactory.parseString(hocon), List.of());
  }

  Trainer.Result run(TrainConfig cfg, InMemoryRows trainRows, InMemoryRows val) throws Exception {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    return new Trainer(sc, cfg, trainRows, val, "synthetic", new PrintStream(log, true)).run();
  }

  static INDArray adapter(Path run) throws Exception {
    Path f = run.resolve("final/adapter/adapter_model.safetensors");
    try (SafetensorsReader r = SafetensorsReader.open(f)) {
      List<INDArray> parts = new ArrayList<>();
      for (var t : r.tensors()) parts.add(r.read(t.name(), DataType.FLOAT).reshape(-1));
      return org.nd4j.linalg.factory.Nd4j.concat(0, parts.toArray(new INDArray[0]));
    }
  }

  static INDArray fullModel(Path run) throws Exception {
    return io.laketune.model.HfModels.load(run.resolve("final/model"), io.laketune.model.HfModels.Options.fullTraining())
        .params().flatValues();
  }

  @Test
  void gradientsModeTwoWorkersEqualsOneWorkerWithTheSameGlobalBatch() throws Exception {
    spark("local[2]");
    InMemoryRows rows = corpus("c1", 24, 1);
    Path a = tmp.resolve("two"), b = tmp.resolve("one");
    run(config(a.toString(), "laketune.train { workers = 2, max_steps = 4 }"), rows, null);
    run(config(b.toString(), "laketune.train { workers = 1, batch.gradient_accumulation = 2, max_steps = 4 }"), rows, null);
    double diff = adapter(a).sub(adapter(b)).amaxNumber().doubleValue();
    assertTrue(diff < 1e-5, "LoRA: 2 workers vs 1 worker differ by " + diff);
    assertTrue(adapter(a).amaxNumber().doubleValue() > 0, "training moved the adapter");

    Path fa = tmp.resolve("full-two"), fb = tmp.resolve("full-one");
    run(config(fa.toString(), "laketune.train { method = full, optimizer.lr = 0.001, workers = 2, max_steps = 3 }"), rows, null);
    run(config(fb.toString(), "laketune.train { method = full, optimizer.lr = 0.001, workers = 1, batch.gradient_accumulation = 2, max_steps = 3 }"), rows, null);
    double full = fullModel(fa).sub(fullModel(fb)).amaxNumber().doubleValue();
    assertTrue(full < 1e-5, "full: 2 workers vs 1 worker differ by " + full);
  }

  @Test
  void interruptedRunResumesToTheSameResultAndRetriedTasksChangeNothing() throws Exception {
    InMemoryRows rows = corpus("c2", 24, 2);
    String extra = "laketune.train { workers = 2, max_steps = 6, checkpoint.every_steps = 2 }";
    spark("local[2]");
    Path whole = tmp.resolve("whole");
    Trainer.Result ref = run(config(whole.toString(), extra), rows, null);

    // a task fails for good during step index 4 (maxFailures = 1): the job dies after checkpoint step-4
    Path cut = tmp.resolve("cut");
    sc.setLocalProperty(Worker.FAIL_ONCE, "4:1");
    assertThrows(Exception.class, () -> run(config(cut.toString(), extra), rows, null));
    sc.setLocalProperty(Worker.FAIL_ONCE, null);
    assertTrue(Files.isDirectory(cut.resolve("checkpoints/step-4")));
    Trainer.Result resumed = run(config(cut.toString(), extra), rows, null);
    assertEquals(0.0, adapter(whole).sub(adapter(cut)).amaxNumber().doubleValue(), 0.0, "resumed adapter");
    List<Object> refLosses = ref.history().stream().filter(e -> e.containsKey("loss")).map(e -> e.get("loss")).toList();
    List<Object> resLosses = resumed.history().stream().filter(e -> e.containsKey("loss")).map(e -> e.get("loss")).toList();
    assertEquals(refLosses, resLosses, "the loss curve continues exactly");
    assertEquals(List.of(4L, 6L), new CheckpointStore(cut.toString(), sc.hadoopConfiguration()).steps(), "keep_last = 2");

    // with retries allowed, the same failure is retried by Spark and changes nothing
    spark("local[2,3]");
    Path retried = tmp.resolve("retried");
    sc.setLocalProperty(Worker.FAIL_ONCE, "2:1");
    run(config(retried.toString(), extra), rows, null);
    assertEquals(0.0, adapter(whole).sub(adapter(retried)).amaxNumber().doubleValue(), 0.0, "retried task");
  }

  @Test
  void parametersModeConvergesAndValidationLossFalls() throws Exception {
    spark("local[2]");
    InMemoryRows rows = corpus("c3", 64, 3, 1), val = corpus("v3", 8, 33, 1);
    Path run = tmp.resolve("local-sgd");
    Trainer.Result r = run(config(run.toString(), "laketune.train { workers = 2, sync { mode = parameters, local_steps = 3 }, "
        + "max_steps = 24, eval.every_steps = 6, method = full, optimizer.lr = 0.01 }"), rows, val);
    List<Double> evals = r.history().stream().filter(e -> e.containsKey("eval_loss")).map(e -> (Double) e.get("eval_loss")).toList();
    List<Double> losses = r.history().stream().filter(e -> e.containsKey("loss")).map(e -> (Double) e.get("loss")).toList();
    assertTrue(losses.get(losses.size() - 1) < 0.5 * losses.get(0), "training loss falls: " + losses);
    assertTrue(evals.get(evals.size() - 1) < evals.get(0), "validation loss falls: " + evals);
    JsonNode last = null;
    for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) last = new ObjectMapper().readTree(line);
    assertTrue(last.has("eval_loss"));
    assertTrue(Files.size(run.resolve("loss.png")) > 1000);
  }
}
