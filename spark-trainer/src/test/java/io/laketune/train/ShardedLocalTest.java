package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.train.data.InMemoryRows;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sharded path in Spark local mode against today's path on the tiny llama fixture. */
@Tag("integration")
class ShardedLocalTest {
  @TempDir Path tmp;
  TrainerTest t = new TrainerTest();

  @AfterEach
  void stop() {
    t.tmp = tmp;
    t.stop();
  }

  static List<Object> losses(Trainer.Result r) {
    return r.history().stream().filter(e -> e.containsKey("loss")).map(e -> e.get("loss")).toList();
  }

  @Test
  void shardedFullTrainingEqualsTheUnshardedPath() throws Exception {
    t.tmp = tmp;
    t.spark("local[2]");
    InMemoryRows rows = TrainerTest.corpus("s1", 24, 1);
    String common = "laketune.train { method = full, optimizer { lr = 0.001, weight_decay = 0.01, max_grad_norm = 0.5 }, workers = 2, max_steps = 3, checkpoint.every_steps = 2 }";
    Path a = tmp.resolve("unsharded"), b = tmp.resolve("sharded");
    Trainer.Result ra = t.run(t.config(a.toString(), common + "\nlaketune.train.sync.sharded = false"), rows, null);
    Trainer.Result rb = t.run(t.config(b.toString(), common + "\nlaketune.train.sync { sharded = true, chunk_elements = 1000 }"), rows, null);
    double diff = TrainerTest.fullModel(a).sub(TrainerTest.fullModel(b)).amaxNumber().doubleValue();
    System.out.println("losses " + losses(ra) + " vs " + losses(rb) + " diff " + diff);
    assertTrue(diff < 1e-6, "sharded vs unsharded differ by " + diff);
    assertEquals(losses(ra).size(), losses(rb).size());
  }
}
