package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.model.Loss;
import io.laketune.prep.pack.PackedRow;
import io.laketune.train.data.InMemoryRows;
import io.laketune.train.data.RowBatches;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Packed documents stay apart; early stopping; non-finite steps skipped or stopped. */
@Tag("integration")
class TrainerEdgeCasesTest {
  static JavaSparkContext sc;
  @TempDir java.nio.file.Path tmp;

  @BeforeAll
  static void start() {
    sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("laketune-edge-test")
        .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1"));
  }

  @AfterAll
  static void stop() {
    sc.stop();
    Replicas.clear();
  }

  @Test
  void aPackedRowScoresLikeItsDocumentsAlone() throws Exception {
    CausalLm m = HfModels.load(Fixtures.dir("llama"), HfModels.Options.inference());
    int[] a = {5, 9, 13, 17, 21}, b = {100, 90, 80, 70};
    int[] ids = new int[9], labels = new int[9];
    System.arraycopy(a, 0, ids, 0, 5);
    System.arraycopy(b, 0, ids, 5, 4);
    System.arraycopy(a, 0, labels, 0, 5);
    System.arraycopy(b, 0, labels, 5, 4);
    labels[5] = -100; // data-prep's rule: a document's first token is not predicted from the previous one
    Loss packed = m.loss(RowBatches.toBatch(List.of(new PackedRow(ids, labels, new int[] {5, 4})), 12));
    Loss alone = m.loss(Batch.of(new int[][] {a}, new int[][] {a})).plus(m.loss(Batch.of(new int[][] {b}, new int[][] {b})));
    assertEquals(alone.count(), packed.count());
    assertEquals(alone.sum(), packed.sum(), 1e-4, "no attention across documents, positions restart at 0");
  }

  TrainConfig cfg(String extra) {
    return cfg(Fixtures.dir("llama"), extra);
  }

  TrainConfig cfg(java.nio.file.Path model, String extra) {
    return TrainConfig.parse(com.typesafe.config.ConfigFactory.parseString("laketune.train { model = \"" + model
        + "\", data = \"in-memory\", output = \"" + tmp.resolve("run") + "\", lora { r = 2, alpha = 4, target_modules = [q_proj] }, "
        + "batch.micro_batch_size = 2, workers = 2, schedule.type = constant }\n" + extra), List.of());
  }

  Trainer.Result run(TrainConfig c, InMemoryRows val) throws Exception {
    return new Trainer(sc, c, TrainerTest.corpus("e1", 16, 7), val, "synthetic", new PrintStream(new ByteArrayOutputStream(), true)).run();
  }

  @Test
  void earlyStoppingEndsARunThatStopsImproving() throws Exception {
    Trainer.Result r = run(cfg("laketune.train { optimizer.lr = 0, max_steps = 10, eval { every_steps = 1, early_stopping_patience = 2 } }"),
        TrainerTest.corpus("ev", 4, 8));
    assertEquals(3, r.steps(), "best at step 1, then two evaluations without improvement");
  }

  @Test
  void nonFiniteStepsAreSkippedOrStopTheRun() throws Exception {
    // a base checkpoint with a NaN in a frozen weight: every loss is NaN
    java.nio.file.Path broken = tmp.resolve("broken");
    java.nio.file.Files.createDirectories(broken);
    java.nio.file.Files.copy(Fixtures.dir("llama").resolve("config.json"), broken.resolve("config.json"));
    io.laketune.io.SafetensorsWriter w = new io.laketune.io.SafetensorsWriter();
    try (io.laketune.io.SafetensorsReader r = io.laketune.io.SafetensorsReader.open(Fixtures.dir("llama").resolve("model.safetensors"))) {
      for (var t : r.tensors()) {
        var v = r.read(t.name(), org.nd4j.linalg.api.buffer.DataType.FLOAT);
        if (t.name().equals("model.norm.weight")) v.putScalar(0, Float.NaN);
        w.add(t.name(), v);
      }
    }
    w.write(broken.resolve("model.safetensors"));
    Trainer.Result skipped = run(cfg(broken, "laketune.train { max_steps = 3 }"), null);
    assertEquals(3, skipped.skippedSteps(), "every step had a non-finite loss and was skipped");
    NonFiniteException e = assertThrows(NonFiniteException.class, () -> run(cfg(broken,
        "laketune.train { max_steps = 3, non_finite = stop, output = \"" + tmp.resolve("run2") + "\" }"), null));
    assertTrue(e.getMessage().contains("non-finite") && e.getMessage().contains("step 0"), e.getMessage());
  }
}
