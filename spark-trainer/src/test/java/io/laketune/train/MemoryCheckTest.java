package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import io.laketune.bench.TrainStepBenchmark;
import io.laketune.model.MemoryPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The up-front refusal of a run whose predicted peak exceeds what its executors have. */
class MemoryCheckTest {
  @TempDir
  Path dir;

  TrainConfig config(String keys) throws Exception {
    Path model = Files.createDirectories(dir.resolve("model"));
    Files.writeString(model.resolve("config.json"), TrainStepBenchmark.CONFIG);
    return TrainConfig.parse(ConfigFactory.parseString("laketune.train { model = \"" + model + "\", data = \"" + dir
        + "/data\", output = \"" + dir + "/run\", " + keys + " }"), List.of());
  }

  static final SparkConf YARN = new SparkConf().set("spark.master", "yarn").set("spark.executor.memory", "2g")
      .set("spark.executor.memoryOverhead", "512m").set("spark.executor.cores", "2");

  @Test
  void executorMemoryIsHeapPlusOverhead() {
    MemoryCheck.Executor ex = MemoryCheck.executor(YARN, 8);
    assertEquals(2L << 30, ex.heapBytes());
    assertEquals((2L << 30) + (512L << 20), ex.limitBytes());
    assertEquals(2, ex.tasks());
    MemoryCheck.Executor dflt = MemoryCheck.executor(new SparkConf().set("spark.master", "yarn")
        .set("spark.executor.memory", "8g"), 8);
    assertEquals((8L << 30) + (long) (0.1 * (8L << 30)), dflt.limitBytes(), "default overhead: 10% of the heap");
    assertEquals(1, dflt.tasks());
  }

  @Test
  void refusesAStepTooLargeForTheExecutorInOneSentence() throws Exception {
    TrainConfig cfg = config("method = full, batch.micro_batch_size = 4");
    MemoryCheck.Executor ex = MemoryCheck.executor(YARN, 2);
    MemoryPlan plan = MemoryCheck.plan(cfg, 4096, ex.tasks(), new Configuration());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoryCheck.require(plan, ex, cfg, 4096, 200L << 20));
    String peak = MemoryCheck.gb(plan.peakBytes(2L << 30, 200L << 20));
    assertEquals("the memory plan predicts a peak of " + peak + " per executor (JVM heap 2.00 GB + off-heap "
        + MemoryCheck.gb(plan.offHeapBytes()) + " + JVM native 0.20 GB), more than the 2.50 GB an executor has"
        + " (spark.executor.memory 2.00 GB + spark.executor.memoryOverhead 0.50 GB): lower batch.micro_batch_size"
        + " (now 4), prepare the data with a shorter seq_len (now 4096), set activation_checkpointing = true, use"
        + " method = qlora or give executors more memory (laketune plan shows the breakdown)", e.getMessage());
  }

  @Test
  void letsAStepThatFitsRunAndSuggestsOnlyWhatIsLeft() throws Exception {
    TrainConfig small = config("method = lora, batch.micro_batch_size = 1, activation_checkpointing = true");
    MemoryCheck.Executor roomy = MemoryCheck.executor(YARN.clone().set("spark.executor.memoryOverhead", "1g"), 2);
    MemoryCheck.require(MemoryCheck.plan(small, 256, roomy.tasks(), new Configuration()), roomy, small, 256, 200L << 20);

    MemoryCheck.Executor ex = MemoryCheck.executor(YARN, 2);

    TrainConfig qlora = config("method = qlora, batch.micro_batch_size = 1, activation_checkpointing = true");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemoryCheck.require(
        MemoryCheck.plan(qlora, 65536, ex.tasks(), new Configuration()), ex, qlora, 65536, 200L << 20));
    assertEquals(true, e.getMessage().endsWith("an executor has (spark.executor.memory 2.00 GB +"
        + " spark.executor.memoryOverhead 0.50 GB): prepare the data with a shorter seq_len (now 65536) or give"
        + " executors more memory (laketune plan shows the breakdown)"), e.getMessage());
  }

  @Test
  void aModelWithoutConfigJsonIsNamed() throws Exception {
    TrainConfig cfg = TrainConfig.parse(ConfigFactory.parseString("laketune.train { model = \"" + dir
        + "/nothing\", data = \"d\", output = \"o\" }"), List.of());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MemoryCheck.plan(cfg, 256, 1, new Configuration()));
    assertEquals("laketune.train.model = " + dir + "/nothing has no config.json; point it at a Hugging Face"
        + " checkpoint directory", e.getMessage());
  }
}
