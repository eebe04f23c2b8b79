package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.laketune.model.Fixtures;
import io.laketune.train.data.InMemoryRows;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A LoRA run whose base model, checkpoints and metrics live on an in-process HDFS. */
@Tag("integration")
class TrainerHdfsTest {
  static MiniDFSCluster cluster;
  static JavaSparkContext sc;
  static String hdfs;

  @BeforeAll
  static void start() throws Exception {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, Files.createTempDirectory("laketune-minidfs").toString());
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.setInt("dfs.replication", 1);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    hdfs = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
    sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("laketune-hdfs-test")
        .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.hadoop.fs.defaultFS", hdfs));
  }

  @AfterAll
  static void stop() {
    if (sc != null) sc.stop();
    if (cluster != null) cluster.shutdown(true);
    Replicas.clear();
  }

  @Test
  void checkpointsMetricsAndTheAdapterLandOnHdfsAndARerunResumes() throws Exception {
    FileSystem fs = FileSystem.get(java.net.URI.create(hdfs), sc.hadoopConfiguration());
    org.apache.hadoop.fs.Path model = new org.apache.hadoop.fs.Path(hdfs + "/models/llama");
    fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(Fixtures.dir("llama").toUri()), model);
    String output = hdfs + "/runs/lora-1";
    String hocon = "laketune.train { model = \"" + model + "\", data = \"in-memory\", output = \"" + output + "\", "
        + "method = lora, lora { r = 4, alpha = 8, target_modules = all-linear, modules_to_save = [lm_head] }, "
        + "optimizer { lr = 0.02 }, batch.micro_batch_size = 2, workers = 2, max_steps = 6, eval.every_steps = 3, "
        + "checkpoint.every_steps = 2, checkpoint.keep_last = 1, eval.load_best_at_end = true, export_merged = true }";
    TrainConfig cfg = TrainConfig.parse(ConfigFactory.parseString(hocon), List.of());
    InMemoryRows rows = TrainerTest.corpus("h1", 32, 4, 1), val = TrainerTest.corpus("hv", 8, 44, 1);
    PrintStream log = new PrintStream(new ByteArrayOutputStream(), true);
    Trainer.Result r = new Trainer(sc, cfg, rows, val, "synthetic", log).run();
    assertEquals(6, r.steps());

    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(output);
    for (String f : List.of("metrics.jsonl", "loss.png", "final/adapter/adapter_config.json",
        "final/adapter/adapter_model.safetensors", "final/merged/config.json", "final/merged/model.safetensors")) {
      assertTrue(fs.exists(new org.apache.hadoop.fs.Path(run, f)), f + " on HDFS");
    }
    List<Long> steps = new CheckpointStore(output, sc.hadoopConfiguration()).steps();
    assertTrue(steps.contains(6L), "last checkpoint kept: " + steps);
    for (String f : List.of("adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json")) {
      assertTrue(fs.exists(new org.apache.hadoop.fs.Path(run, "checkpoints/step-6/" + f)), f);
    }
    TrainerState st = new CheckpointStore(output, sc.hadoopConfiguration()).state(6);
    assertEquals(6, st.globalStep());
    assertEquals(Trainer.configHash(cfg), st.configHash());
    // 32 rows, 4 per step: 8 steps per epoch, so step 6 is the 7th step of epoch 0
    assertEquals(0, ((Number) st.dataCursor().get("epoch")).intValue());
    assertEquals(6, ((Number) st.dataCursor().get("step_in_epoch")).intValue());
    assertEquals("cosine", st.schedule().get("type"));
    assertTrue(st.bestStep() != null && steps.contains(st.bestStep()), "best checkpoint kept: " + steps);

    // rerunning the finished command resumes at its end: nothing more to do, the same adapter
    Trainer.Result again = new Trainer(sc, cfg, rows, val, "synthetic", log).run();
    assertEquals(6, again.steps());
    // the merged export is a plain HF checkpoint that reloads
    Path local = Files.createTempDirectory("merged");
    fs.copyToLocalFile(false, new org.apache.hadoop.fs.Path(run, "final/merged"), new org.apache.hadoop.fs.Path(local.toUri()), true);
    assertTrue(io.laketune.model.HfModels.load(local.resolve("merged"), io.laketune.model.HfModels.Options.inference())
        .params().totalCount() > 0);
  }
}
