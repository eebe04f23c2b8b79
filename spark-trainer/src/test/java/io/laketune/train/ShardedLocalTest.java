package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.train.data.InMemoryRows;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sharded path in Spark local mode on the tiny llama fixture: local SGD shards its averaging
 * equally, bf16 payloads track the fp32 loss curve, evaluation and best-checkpoint selection work,
 * a task retry changes nothing, and a run resumes from a checkpoint of the unsharded path.
 */
@Tag("integration")
class ShardedLocalTest {
  @TempDir Path tmp;
  final TrainerTest t = new TrainerTest();

  @BeforeEach
  void start() {
    t.tmp = tmp;
    t.spark("local[2]");
  }

  @AfterEach
  void stop() {
    t.stop();
  }

  static List<Double> losses(Trainer.Result r) {
    return r.history().stream().filter(e -> e.containsKey("loss")).map(e -> ((Number) e.get("loss")).doubleValue()).toList();
  }

  static final String SHARDED = "laketune.train.sync { sharded = true, chunk_elements = 1000 }";

  @Test
  void localSgdShardsItsAveragingWithTheSameResult() throws Exception {
    InMemoryRows rows = TrainerTest.corpus("p1", 32, 5);
    String common = "laketune.train { method = full, optimizer.lr = 0.003, workers = 2, sync { mode = parameters, local_steps = 3 }, max_steps = 6 }";
    Path a = tmp.resolve("unsharded"), b = tmp.resolve("sharded");
    Trainer.Result ra = t.run(t.config(a.toString(), common + "\nlaketune.train.sync.sharded = false"), rows, null);
    Trainer.Result rb = t.run(t.config(b.toString(), common + "\n" + SHARDED), rows, null);
    double w = TrainerTest.fullModel(a).sub(TrainerTest.fullModel(b)).amaxNumber().doubleValue();
    assertTrue(w < 1e-6, "parameters mode: sharded vs unsharded weights differ by " + w);
    assertEquals(losses(ra).size(), losses(rb).size());
    for (int i = 0; i < losses(ra).size(); i++) assertEquals(losses(ra).get(i), losses(rb).get(i), 1e-6, "loss " + i);
  }

  /**
   * bf16 payloads round the gradients each worker sends and the parameters it receives; masters and
   * moments stay fp32. On this learnable corpus the loss curve stays within 2% of fp32's (measured:
   * at most 0.97% over 30 steps, final loss 1.2809 against 1.2868).
   */
  @Test
  void bf16PayloadsTrackTheFp32LossCurve() throws Exception {
    InMemoryRows rows = TrainerTest.corpus("b1", 64, 6, 1);
    String common = "laketune.train { method = full, optimizer.lr = 0.01, workers = 2, max_steps = 30 }\n" + SHARDED;
    Trainer.Result fp32 = t.run(t.config(tmp.resolve("fp32").toString(), common), rows, null);
    Trainer.Result bf16 = t.run(t.config(tmp.resolve("bf16").toString(), common + "\nlaketune.train.sync.payload = bf16"), rows, null);
    List<Double> a = losses(fp32), b = losses(bf16);
    double worst = 0;
    for (int i = 0; i < a.size(); i++) worst = Math.max(worst, Math.abs(a.get(i) - b.get(i)) / a.get(i));
    System.out.printf("bf16 vs fp32 payloads, 30 steps: loss %.4f -> %.4f (fp32) vs %.4f -> %.4f (bf16), worst relative gap %.2e%n",
        a.get(0), a.get(a.size() - 1), b.get(0), b.get(b.size() - 1), worst);
    assertTrue(a.get(a.size() - 1) < 0.7 * a.get(0), "training learns: " + a);
    assertTrue(worst < 0.02, "bf16 loss curve within 2% of fp32: " + worst);
    double w = TrainerTest.fullModel(tmp.resolve("fp32")).sub(TrainerTest.fullModel(tmp.resolve("bf16"))).amaxNumber().doubleValue();
    assertTrue(w > 0, "bf16 rounding reached the result");
    assertEquals(a.size(), b.size());
  }

  @Test
  void evaluationBestCheckpointAndRetriesOnTheShardedPath() throws Exception {
    InMemoryRows rows = TrainerTest.corpus("e1", 32, 7, 1), val = TrainerTest.corpus("ev", 8, 77, 1);
    String extra = "laketune.train { method = full, optimizer.lr = 0.01, workers = 2, max_steps = 6, eval.every_steps = 2, "
        + "checkpoint.every_steps = 2, eval.load_best_at_end = true }\n" + SHARDED;
    Trainer.Result r = t.run(t.config(tmp.resolve("a").toString(), extra), rows, val);
    List<Double> evals = r.history().stream().filter(e -> e.containsKey("eval_loss")).map(e -> (Double) e.get("eval_loss")).toList();
    assertEquals(3, evals.size());
    assertTrue(evals.get(2) < evals.get(0), "validation loss falls: " + evals);
    assertTrue(Files.isRegularFile(tmp.resolve("a/checkpoints/step-6/optimizer.index.json")));
    // lineage beside the sharded files: the base model's weights hashed where they lie, the run's config
    Lineage ck = Lineage.read(new org.apache.hadoop.fs.Path(tmp.resolve("a/checkpoints/step-6").toUri()), new org.apache.hadoop.conf.Configuration());
    Lineage fin = Lineage.read(new org.apache.hadoop.fs.Path(tmp.resolve("a/final/model").toUri()), new org.apache.hadoop.conf.Configuration());
    assertEquals("checkpoint", ck.artifact());
    assertEquals(6, ck.step());
    assertEquals("model", fin.artifact());
    assertEquals(io.laketune.checkpoint.ModelIdentity.of(io.laketune.model.Fixtures.dir("llama"))
        .weightsSha256(), fin.baseModel().weightsSha256(), "the same identity as the unsharded path records");
    // a task failing once is retried by Spark and changes nothing
    t.spark("local[2,3]");
    t.sc.setLocalProperty(Worker.FAIL_ONCE, "3:1");
    t.run(t.config(tmp.resolve("b").toString(), extra), rows, val);
    t.sc.setLocalProperty(Worker.FAIL_ONCE, null);
    assertEquals(0.0, TrainerTest.fullModel(tmp.resolve("a")).sub(TrainerTest.fullModel(tmp.resolve("b"))).amaxNumber().doubleValue(), 0.0);
  }

  @Test
  void aShardedRunResumesFromACheckpointOfTheUnshardedPath() throws Exception {
    InMemoryRows rows = TrainerTest.corpus("r1", 24, 8);
    String common = "laketune.train { method = full, optimizer.lr = 0.002, workers = 2, max_steps = 4, checkpoint { every_steps = 2, keep_last = 3 } }";
    Path whole = tmp.resolve("whole"), mixed = tmp.resolve("mixed");
    t.run(t.config(whole.toString(), common + "\nlaketune.train.sync.sharded = false"), rows, null);
    t.run(t.config(mixed.toString(), common + "\nlaketune.train.sync.sharded = false"), rows, null);
    ShardedClusterTest.deleteTree(mixed.resolve("checkpoints/step-4"));
    ShardedClusterTest.deleteTree(mixed.resolve("final"));
    t.run(t.config(mixed.toString(), common + "\n" + SHARDED), rows, null);
    double w = TrainerTest.fullModel(whole).sub(TrainerTest.fullModel(mixed)).amaxNumber().doubleValue();
    assertTrue(w < 1e-6, "unsharded checkpoint resumed sharded: " + w);
  }

  /**
   * LoRA on the sharded path: only the adapter vector is chunked (forced into many small chunks),
   * reduce-scattered and updated per shard; losses and the final PEFT adapter equal the single
   * aggregate's, through a checkpoint written in PEFT layout beside optimizer shards.
   */
  @Test
  void loraShardedEqualsTheSingleAggregate() throws Exception {
    InMemoryRows rows = TrainerTest.corpus("l1", 24, 3);
    String common = "laketune.train { workers = 2, max_steps = 4, checkpoint { every_steps = 2, keep_last = 3 } }";
    Path a = tmp.resolve("aggregate"), b = tmp.resolve("sharded");
    Trainer.Result ra = t.run(t.config(a.toString(), common + "\nlaketune.train.sync.sharded = false"), rows, null);
    // auto with a small threshold takes the sharded path too
    Trainer.Result rb = t.run(t.config(b.toString(), common + "\nlaketune.train.sync { sharded = auto, shard_threshold = 1, chunk_elements = 97 }"), rows, null);
    assertTrue(Files.isRegularFile(b.resolve("checkpoints/step-2/optimizer.index.json")), "the sharded path ran");
    assertTrue(Files.isRegularFile(b.resolve("checkpoints/step-2/adapter_model.safetensors")), "a PEFT checkpoint");
    assertTrue(Files.isRegularFile(b.resolve("final/adapter/adapter_config.json")), "a PEFT adapter");
    assertTrue(TrainerTest.adapter(b).length() > 20 * 97, "many chunks: " + TrainerTest.adapter(b).length() + " values");
    double w = TrainerTest.adapter(a).sub(TrainerTest.adapter(b)).amaxNumber().doubleValue();
    assertTrue(w < 1e-6, "LoRA: sharded vs aggregate adapters differ by " + w);
    assertTrue(TrainerTest.adapter(b).amaxNumber().doubleValue() > 0, "training moved the adapter");
    assertEquals(losses(ra).size(), losses(rb).size());
    for (int i = 0; i < losses(ra).size(); i++) assertEquals(losses(ra).get(i), losses(rb).get(i), 1e-6, "loss " + i);

    // a sharded LoRA checkpoint of 2 workers resumes sharded on 1 worker, and on the unsharded path
    for (String resume : List.of("laketune.train { sync { sharded = true, chunk_elements = 61 }, workers = 1, batch.gradient_accumulation = 2 }",
        "laketune.train.sync.sharded = false")) {
      Path c = tmp.resolve("cut" + resume.length());
      t.run(t.config(c.toString(), common + "\nlaketune.train.sync { sharded = true, chunk_elements = 97 }"), rows, null);
      ShardedClusterTest.deleteTree(c.resolve("checkpoints/step-4"));
      ShardedClusterTest.deleteTree(c.resolve("final"));
      Trainer.Result rc = t.run(t.config(c.toString(), common + "\n" + resume), rows, null);
      double d = TrainerTest.adapter(a).sub(TrainerTest.adapter(c)).amaxNumber().doubleValue();
      System.out.printf("LoRA resumed (%s): adapter differs by %.3g%n", resume, d);
      assertTrue(d < 1e-6, resume + ": the adapter continues, differs by " + d);
      for (int i = 0; i < losses(ra).size(); i++) assertEquals(losses(ra).get(i), losses(rc).get(i), 1e-6, resume + ": loss " + i);
    }
  }

  @Test
  void bf16IsForTheShardedPath() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.run(t.config(tmp.resolve("y").toString(),
        "laketune.train { max_steps = 1, sync.payload = bf16 }"), TrainerTest.corpus("y", 8, 1), null));
    assertTrue(e.getMessage().contains("sync.payload"), e.getMessage());
  }

  /** auto sizes an adapter by everything it trains: a modules_to_save head can be what takes it over the threshold. */
  @Test
  void autoCountsModulesToSave() throws Exception {
    org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
    String save = "laketune.train.lora.modules_to_save = [embed_tokens]";
    TrainConfig probe = t.config(tmp.resolve("p").toString(), save);
    io.laketune.peft.LoraModel plan = io.laketune.peft.LoraModel.plan(io.laketune.model.ModelConfig.parse(CheckpointStore.JSON.readTree(Path.of(probe.model(), "config.json").toFile()), "config.json"), probe.lora());
    long adapter = TrainableLayout.of(plan.adapterShapes()).total(), all = TrainableLayout.of(plan.trainableShapes()).total();
    assertTrue(all > adapter, "the embed_tokens copy is trained: " + all + " > " + adapter);
    String auto = "laketune.train.sync { sharded = auto, shard_threshold = " + all + " }";
    assertTrue(ShardedTrainer.applies(t.config(tmp.resolve("a").toString(), save + "\n" + auto), conf));
    assertFalse(ShardedTrainer.applies(t.config(tmp.resolve("b").toString(), auto), conf));
  }
}
