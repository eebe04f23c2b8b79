package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.platform.CpuInfo;
import io.laketune.platform.NativeBuild;
import io.laketune.platform.NativeBuilds;
import io.laketune.tokenizer.TokenizerFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/laketune} itself, as a user runs it: a fresh JVM from the built classes, with nothing
 * set by hand. It loads the native build chosen for this CPU ({@code laketune env}), and a local
 * {@code prepare} prints laketune's progress lines without Spark's INFO pages, web UI or
 * machine-address bindings ({@code --verbose} brings Spark's logs back).
 */
@Tag("integration")
class BinLaketuneTest {
  static final Path ROOT = Path.of("").toAbsolutePath().getParent();

  record Result(int code, String out, String err) {}

  static Result binLaketune(Map<String, String> env, Path dir, String... args) throws Exception {
    Path out = dir.resolve("out-" + System.nanoTime()), err = dir.resolve("err-" + System.nanoTime());
    List<String> cmd = new java.util.ArrayList<>(List.of(ROOT.resolve("bin/laketune").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).directory(dir.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("LAKETUNE_") || k.equals("JAVA_TOOL_OPTIONS") || k.startsWith("SPARK_"));
    pb.environment().put("OMP_NUM_THREADS", "2");
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("bin/laketune " + String.join(" ", args) + " did not finish in 300 s");
    }
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
  }

  static NativeBuild expected(String useAvx) {
    CpuInfo cpu = CpuInfo.detect();
    if (useAvx != null) cpu = cpu.cappedBy(useAvx, null);
    return NativeBuilds.choose(cpu, NativeBuilds.platform(), NativeBuilds.onClassPath(NativeBuilds.platform()), null).build();
  }

  @Test
  void envShowsTheBuildThisCpuGetsAndItIsTheOneLoaded(@TempDir Path dir) throws Exception {
    Result r = binLaketune(Map.of(), dir, "env", "--json", "--gemm-size", "256");
    assertEquals(0, r.code(), r.err());
    JsonNode env = new ObjectMapper().readTree(r.out());
    assertEquals(expected(null).label(), env.at("/native/chosen").asText(), r.out());
    assertEquals(env.at("/native/chosen").asText(), env.at("/native/loaded").asText(), "chosen = loaded");
    assertTrue(env.at("/native/reason").asText().startsWith("CPU has "), r.out());
    assertTrue(env.at("/gemm/gflops").asDouble() > 0.5, r.out());
    assertEquals("4.1.3", env.at("/versions/spark").asText());
    assertEquals("3.4.2", env.at("/versions/hadoop").asText());
    assertEquals("1.0.0-M2.1", env.at("/versions/nd4j").asText());
    assertTrue(env.at("/djl/offline").asBoolean() && env.at("/djl/usage_tracking_off").asBoolean(), r.out());
    assertTrue(env.at("/cpu/flags").toString().contains("sse4_2"), r.out());
    assertEquals("", r.err().strip(), "nothing on stderr");

    Result text = binLaketune(Map.of(), dir, "env", "--gemm-size", "128");
    assertEquals(0, text.code(), text.err());
    for (String line : List.of("cpu ", "cpu flags", "native build   " + expected(null).label(), "threads ", "fp32 GEMM ",
        "java ", "spark          4.1.3", "hadoop ", "nd4j ", "djl            offline on, usage tracking off")) {
      assertTrue(text.out().contains(line), "env prints " + line + ":\n" + text.out());
    }
  }

  @Test
  void aJvmWithoutAvx2LoadsThePlainBuild(@TempDir Path dir) throws Exception {
    Result r = binLaketune(Map.of("LAKETUNE_JAVA_OPTS", "-Xmx1g -XX:UseAVX=1"), dir, "env", "--json", "--gemm-size", "0");
    assertEquals(0, r.code(), r.err());
    JsonNode env = new ObjectMapper().readTree(r.out());
    assertEquals(expected("1").label(), env.at("/native/loaded").asText(), r.out());
    assertEquals("plain", env.at("/native/loaded").asText());
    assertTrue(env.at("/cpu/flags_from").asText().contains("UseAVX=1"));
  }

  @Test
  void aBuildSetByHandWinsAndIsReported(@TempDir Path dir) throws Exception {
    Result r = binLaketune(Map.of("LAKETUNE_JAVA_OPTS", "-Xmx1g -D" + NativeBuilds.PROPERTY + "="), dir, "env", "--json", "--gemm-size", "0");
    assertEquals(0, r.code(), r.err());
    JsonNode env = new ObjectMapper().readTree(r.out());
    assertEquals("plain", env.at("/native/loaded").asText());
    assertTrue(env.at("/native/reason").asText().contains("set by hand"), r.out());
  }

  @Test
  void withOnlyBuildsThisCpuCannotRunCommandsSayWhatToAddInOneSentence(@TempDir Path dir) throws Exception {
    // The CLI's JVM with just the onednn-avx2 build, capped below AVX2 (as a CPU without AVX2 is).
    String classPath = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
        .filter(e -> !e.matches(".*nd4j-native-[^/]*-linux-x86_64(-avx2|-avx512|-onednn|-onednn-avx512)?\\.jar"))
        .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    assertTrue(classPath.contains("onednn-avx2") && !classPath.contains("nd4j-native-1.0.0-M2.1-linux-x86_64.jar"), classPath);
    List<String> java = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g", "-XX:UseAVX=1",
        "-cp", classPath, Laketune.class.getName());
    Result bench = run(java, dir, "bench", "--steps", "1");
    assertEquals(1, bench.code(), bench.out() + bench.err());
    assertEquals(1, bench.err().strip().lines().count(), "one sentence:\n" + bench.err());
    assertTrue(bench.err().startsWith("laketune bench: this CPU") && bench.err().contains("lacks avx2")
        && bench.err().contains("org.nd4j:nd4j-native:1.0.0-M2.1:linux-x86_64 "), bench.err());
    Result env = run(java, dir, "env", "--gemm-size", "0");
    assertEquals(0, env.code(), env.err());
    assertTrue(env.out().contains("PROBLEM      this CPU") && env.out().contains("cannot run onednn-avx2"), env.out());
  }

  static Result run(List<String> java, Path dir, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(java);
    cmd.addAll(List.of(args));
    Path out = dir.resolve("out-" + System.nanoTime()), err = dir.resolve("err-" + System.nanoTime());
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  static final Pattern MACHINE_ADDRESS = Pattern.compile("\\b(?!127\\.)(\\d{1,3}\\.){3}\\d{1,3}\\b");

  @Test
  void aLocalRunIsQuietAndStaysOnLoopback(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("text.jsonl");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 40; i++) lines.append("{\"text\": \"line ").append(i).append(" of a small corpus\"}\n");
    Files.writeString(input, lines);
    Path run = dir.resolve("run.conf");
    Files.writeString(run, "laketune.prep { input = \"" + input.toUri() + "\", output = \"" + dir.resolve("data").toUri()
        + "\", tokenizer = \"" + TokenizerFixtures.modelDir("gpt2") + "\", format.type = text, length.seq_len = 64 }\n");

    Result quiet = binLaketune(Map.of(), dir, "prepare", "--config", run.toString());
    assertEquals(0, quiet.code(), quiet.err());
    assertTrue(quiet.out().contains("records read 40: kept 40"), "laketune's own progress lines stay:\n" + quiet.out());
    assertFalse(quiet.err().contains(" INFO "), "no INFO logs:\n" + quiet.err());
    assertFalse(quiet.err().contains("4040") || quiet.out().contains("4040"), "no web UI:\n" + quiet.err());
    assertFalse(quiet.err().contains("resolves to a loopback address"), quiet.err());
    assertFalse(MACHINE_ADDRESS.matcher(quiet.err() + quiet.out()).find(), "nothing binds to a machine address:\n" + quiet.err());
    assertTrue(quiet.err().lines().count() <= 2, "at most a warning or two:\n" + quiet.err());

    Result verbose = binLaketune(Map.of(), dir, "prepare", "--config", run.toString(), "--verbose", "--set",
        "output=\"" + dir.resolve("data2").toUri() + "\"");
    assertEquals(0, verbose.code(), verbose.err());
    assertTrue(verbose.err().contains(" INFO ") || verbose.out().contains(" INFO "), "--verbose brings Spark's logs back:\n" + verbose.err());
    assertTrue(verbose.err().contains("127.0.0.1"), "the driver binds to loopback:\n" + verbose.err());
  }
}
