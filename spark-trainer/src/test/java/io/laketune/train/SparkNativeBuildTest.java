package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.platform.CpuInfo;
import io.laketune.platform.NativeBuilds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * spark-submit's driver and executors each choose the native build for their own CPU. The job runs on
 * {@code local-cluster[2,1,1024]}: a driver JVM and two executor JVMs. The executors are started with
 * {@code -XX:UseAVX=1} — to HotSpot and laketune a CPU without AVX2, standing in for executors on
 * older hardware — so the driver loads onednn-avx2 and the executors the plain build.
 */
@Tag("integration")
class SparkNativeBuildTest {

  @Test
  void driverAndExecutorsChooseForThemselves(@TempDir Path dir) throws Exception {
    Path sparkHome = Files.createDirectories(dir.resolve("spark-home/jars")).getParent();
    Path jar = dir.resolve("app.jar");
    try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), new java.util.jar.Manifest())) {
      out.flush();
    }
    String sparkOpts = System.getProperty("laketune.test.sparkJavaOptions", "");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g"));
    for (String opt : sparkOpts.split(" ")) if (!opt.isBlank()) cmd.add(opt);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.apache.spark.deploy.SparkSubmit",
        "--master", "local-cluster[2,1,1024]", "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
        "--conf", "spark.executor.extraJavaOptions=-XX:UseAVX=1 " + sparkOpts,
        "--conf", "spark.executorEnv.OMP_NUM_THREADS=1",
        "--class", NativeBuildSparkProbe.class.getName(), jar.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("submit.log").toFile());
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    pb.environment().put("SPARK_DIST_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("OPT_OUT_TRACKING", "true");
    Process p = pb.start();
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "spark-submit finished");
    String log = Files.readString(dir.resolve("submit.log"));
    assertEquals(0, p.exitValue(), log);

    List<JsonNode> jvms = new ArrayList<>();
    for (String line : log.split("\n")) if (line.startsWith("jvm: ")) jvms.add(new ObjectMapper().readTree(line.substring(5)));
    JsonNode driver = jvms.stream().filter(j -> j.get("role").asText().equals("driver")).findFirst().orElseThrow();
    List<JsonNode> executors = jvms.stream().filter(j -> j.get("role").asText().equals("executor")).toList();
    assertTrue(executors.size() >= 1, log);

    CpuInfo here = CpuInfo.detect();
    String platform = NativeBuilds.platform();
    String expectDriver = NativeBuilds.choose(here, platform, NativeBuilds.onClassPath(platform), null).build().label();
    String expectExecutor = NativeBuilds.choose(here.cappedBy("1", null), platform, NativeBuilds.onClassPath(platform), null)
        .build().label();
    assertEquals(expectDriver, driver.get("loaded").asText(), driver.toString());
    for (JsonNode e : executors) {
      assertNotEquals(driver.get("pid").asLong(), e.get("pid").asLong(), "executors are their own JVMs");
      assertEquals(expectExecutor, e.get("chosen").asText(), e.toString());
      assertEquals(expectExecutor, e.get("loaded").asText(), e.toString());
      assertTrue(e.get("flags_from").asText().contains("UseAVX=1"), e.toString());
      assertEquals("plain", e.get("loaded").asText(), "an executor without AVX2 loads the generic build");
      assertTrue(e.get("max_rel_err").asDouble() < 1e-5, e.toString());
    }
    assertTrue(driver.get("max_rel_err").asDouble() < 1e-5, driver.toString());
  }
}
