package io.laketune.train;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A Spark standalone cluster on 127.0.0.1 made of plain JVMs (a Master and one Worker offering
 * {@code cores} cores), as PLATFORM.md describes: no Spark distribution needed. Executors run in
 * their own JVMs, one core each.
 */
final class StandaloneCluster implements AutoCloseable {
  private final List<Process> processes = new ArrayList<>();
  private final Path sparkHome;
  final String master;
  final Path workDir;

  StandaloneCluster(Path dir, int cores, String workerMemory) throws IOException {
    sparkHome = dir.resolve("spark-home");
    Files.createDirectories(sparkHome.resolve("jars"));
    workDir = dir.resolve("work");
    int port = freePort();
    master = "spark://127.0.0.1:" + port;
    java("org.apache.spark.deploy.master.Master", List.of("--host", "127.0.0.1", "--port", Integer.toString(port),
        "--webui-port", Integer.toString(freePort())), dir.resolve("master.log"));
    java("org.apache.spark.deploy.worker.Worker", List.of(master, "--host", "127.0.0.1", "--cores", Integer.toString(cores),
        "--memory", workerMemory, "--webui-port", Integer.toString(freePort()), "--work-dir", workDir.toString()),
        dir.resolve("worker.log"));
  }

  /** An application of {@code executors} one-core executors of {@code memory} each. */
  JavaSparkContext context(String name, int executors, String memory) {
    return new JavaSparkContext(new SparkConf().setMaster(master).setAppName(name)
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1").set("spark.ui.enabled", "false")
        .set("spark.executor.cores", "1").set("spark.cores.max", Integer.toString(executors)).set("spark.executor.memory", memory)
        .set("spark.executor.extraJavaOptions", System.getProperty("laketune.test.sparkJavaOptions", ""))
        .set("spark.executorEnv.OMP_NUM_THREADS", "1").set("spark.executorEnv.OPT_OUT_TRACKING", "true"));
  }

  /** Waits until {@code n} executors have registered, so that every run starts on the same cluster. */
  static void awaitExecutors(JavaSparkContext sc, int n) throws InterruptedException {
    for (int i = 0; i < 600 && sc.sc().getExecutorMemoryStatus().size() < n + 1; i++) Thread.sleep(100);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  private void java(String mainClass, List<String> args, Path log) throws IOException {
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
    processes.add(pb.start());
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : processes) p.destroy();
    for (Process p : processes) p.waitFor(20, TimeUnit.SECONDS);
  }
}
