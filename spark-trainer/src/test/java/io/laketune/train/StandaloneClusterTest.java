package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.laketune.model.Fixtures;
import io.laketune.train.data.InMemoryRows;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training job on a real multi-JVM Spark standalone cluster on 127.0.0.1 (a Master and a Worker
 * started here as plain JVMs, executors in their own JVMs): closures, broadcasts and the per-JVM model
 * cache work across process boundaries, and the result equals a local-mode run's.
 */
@Tag("integration")
class StandaloneClusterTest {
  static final List<Process> PROCESSES = new ArrayList<>();
  static String master;
  static Path sparkHome;

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  static Process java(String mainClass, List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    for (String opt : System.getProperty("laketune.test.sparkJavaOptions", "").split(" ")) if (!opt.isBlank()) cmd.add(opt);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_DIST_CLASSPATH", System.getProperty("java.class.path"));
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("OPT_OUT_TRACKING", "true");
    env.put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    PROCESSES.add(p);
    return p;
  }

  @BeforeAll
  static void startCluster(@TempDir Path dir) throws Exception {
    sparkHome = dir.resolve("spark-home");
    Files.createDirectories(sparkHome.resolve("jars"));
    int port = freePort();
    master = "spark://127.0.0.1:" + port;
    java("org.apache.spark.deploy.master.Master", List.of("--host", "127.0.0.1", "--port", Integer.toString(port),
        "--webui-port", Integer.toString(freePort())), dir.resolve("master.log"));
    java("org.apache.spark.deploy.worker.Worker", List.of(master, "--host", "127.0.0.1", "--cores", "2", "--memory", "3g",
        "--webui-port", Integer.toString(freePort()), "--work-dir", dir.resolve("work").toString()), dir.resolve("worker.log"));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    for (Process p : PROCESSES) p.destroy();
    for (Process p : PROCESSES) p.waitFor(20, TimeUnit.SECONDS);
    Replicas.clear();
  }

  @Test
  void trainingOnAStandaloneClusterEqualsLocalMode(@TempDir Path tmp) throws Exception {
    InMemoryRows rows = TrainerTest.corpus("sa", 16, 9);
    String common = "laketune.train { model = \"" + Fixtures.dir("llama") + "\", data = \"in-memory\", method = lora, "
        + "frozen_dtype = fp32, lora { r = 4, alpha = 8, target_modules = all-linear, dropout = 0.1 }, optimizer.lr = 0.01, "
        + "batch.micro_batch_size = 2, workers = 2, max_steps = 3 }\n";
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true);

    Path clusterRun = tmp.resolve("cluster");
    JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster(master).setAppName("laketune-standalone-test")
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1").set("spark.ui.enabled", "false")
        .set("spark.executor.cores", "1").set("spark.cores.max", "2").set("spark.executor.memory", "1g")
        .set("spark.executor.extraJavaOptions", System.getProperty("laketune.test.sparkJavaOptions", ""))
        .set("spark.executorEnv.OMP_NUM_THREADS", "1").set("spark.executorEnv.OPT_OUT_TRACKING", "true"));
    try {
      new Trainer(sc, TrainConfig.parse(ConfigFactory.parseString(common + "laketune.train.output = \"" + clusterRun + "\""),
          List.of()), rows, null, "synthetic", quiet).run();
    } finally {
      sc.stop();
    }
    Path localRun = tmp.resolve("local");
    JavaSparkContext local = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("laketune-local")
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1").set("spark.ui.enabled", "false"));
    try {
      new Trainer(local, TrainConfig.parse(ConfigFactory.parseString(common + "laketune.train.output = \"" + localRun + "\""),
          List.of()), rows, null, "synthetic", quiet).run();
    } finally {
      local.stop();
    }
    double diff = TrainerTest.adapter(clusterRun).sub(TrainerTest.adapter(localRun)).amaxNumber().doubleValue();
    assertTrue(diff < 1e-6, "standalone cluster vs local mode differ by " + diff);
  }
}
