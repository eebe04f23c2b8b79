package io.laketune.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Child JVMs started the way programs that use laketune start: each loads ND4J, runs a GEMM and checks
 * it against a Java loop ({@link GemmProbe}). Every native build on the class path that this CPU runs
 * is loaded by hand once; builds it cannot run are reported as skipped, naming what the CPU lacks.
 * Without a hand-set build, a plain library program and laketune's own entry point both get the
 * build {@link NativeBuilds#choose} names for this CPU.
 *
 * <p>Other CPUs are emulated with QEMU's user-mode emulator ({@code qemu-x86_64}, Debian's qemu-user;
 * {@code .ci/run} installs it and sets {@code LAKETUNE_REQUIRE_QEMU=1}, elsewhere its absence is a
 * skip): the JVM runs on an emulated Haswell (AVX2, no AVX-512) and on a Nehalem (no AVX at all, where
 * an AVX2 build really dies with SIGILL), and must load a build that works there.
 */
@Tag("integration")
class NativeBuildChildJvmTest {

  static final ObjectMapper JSON = new ObjectMapper();

  record Run(int exit, String output, JsonNode probe) {}

  static Run probe(List<String> prefix, List<String> jvmOptions, String mode, Path tmp) throws Exception {
    return probe(prefix, jvmOptions, mode, tmp, System.getProperty("java.class.path"));
  }

  static Run probe(List<String> prefix, List<String> jvmOptions, String mode, Path tmp, String classPath) throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-XX:ErrorFile=" + tmp.resolve("hs_err_%p.log"));
    cmd.add("-Dorg.nd4j.log.initialization=false");
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", classPath, GemmProbe.class.getName(), mode));
    return run(cmd, tmp);
  }

  static Run run(List<String> cmd, Path tmp) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    Path log = Files.createTempFile(tmp, "probe", ".log");
    pb.redirectOutput(log.toFile());
    Process p = pb.start();
    if (!p.waitFor(600, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("child JVM did not finish in 600 s: " + cmd);
    }
    String out = Files.readString(log, StandardCharsets.UTF_8);
    JsonNode probe = null;
    for (String line : out.split("\n")) if (line.startsWith("probe: ")) probe = JSON.readTree(line.substring(7));
    return new Run(p.exitValue(), out, probe);
  }

  static Run ok(Run r, String what) {
    assertEquals(0, r.exit(), what + " exited with " + r.exit() + ":\n" + r.output());
    assertTrue(r.probe() != null, what + " printed no probe line:\n" + r.output());
    assertTrue(r.probe().get("max_rel_err").asDouble() < 1e-5, what + ": GEMM wrong: " + r.probe());
    return r;
  }

  static String label(JsonNode probe, String field) {
    return probe.get(field).isNull() ? null : probe.get(field).asText();
  }

  /** What this JVM's CPU should get from the builds on the class path. */
  static NativeBuild expectedHere(String useAvx) {
    CpuInfo cpu = CpuInfo.detect();
    if (useAvx != null) cpu = cpu.cappedBy(useAvx, null);
    return NativeBuilds.choose(cpu, NativeBuilds.platform(), NativeBuilds.onClassPath(NativeBuilds.platform()), null).build();
  }

  @TestFactory
  Stream<DynamicTest> everyBuildThisCpuRunsLoadsAndMultipliesCorrectly(@TempDir Path tmp) {
    CpuInfo cpu = CpuInfo.detect();
    return NativeBuilds.onClassPath(NativeBuilds.platform()).stream().map(b -> DynamicTest.dynamicTest(b.label(), () -> {
      Assumptions.assumeTrue(b.runsOn(cpu), () -> "this CPU (" + cpu.model() + ") cannot run the " + b.label()
          + " build: it lacks " + String.join(", ", b.missingOn(cpu)));
      Run r = ok(probe(List.of(), List.of("-D" + NativeBuilds.PROPERTY + "=" + b.extension()), "library", tmp), b.label());
      assertEquals(b.label(), label(r.probe(), "loaded"), "the build set by hand is the one loaded");
    }));
  }

  @Test
  void aLibraryProgramThatNeverCallsLaketuneStillGetsTheRightBuild(@TempDir Path tmp) throws Exception {
    Run r = ok(probe(List.of(), List.of(), "library", tmp), "library use");
    assertEquals(expectedHere(null).label(), label(r.probe(), "chosen"));
    assertEquals(label(r.probe(), "chosen"), label(r.probe(), "loaded"));
  }

  @Test
  void laketunesEntryPointChoosesBeforeNd4jLoads(@TempDir Path tmp) throws Exception {
    Run r = ok(probe(List.of(), List.of(), "init", tmp), "NativeBuilds.init()");
    assertEquals(expectedHere(null).label(), label(r.probe(), "loaded"));
  }

  @Test
  void aJvmCappedBelowWhatTheCpuHasPicksForItself(@TempDir Path tmp) throws Exception {
    // -XX:UseAVX is HotSpot's own cap: the executor-on-other-hardware case on this one machine.
    Run avx2 = ok(probe(List.of(), List.of("-XX:UseAVX=2"), "library", tmp), "UseAVX=2");
    assertEquals(expectedHere("2").label(), label(avx2.probe(), "loaded"));
    assertTrue(!label(avx2.probe(), "loaded").contains("avx512"), avx2.probe().toString());
    Run avx = ok(probe(List.of(), List.of("-XX:UseAVX=1"), "library", tmp), "UseAVX=1");
    assertEquals("plain", label(avx.probe(), "loaded"), "no AVX2: the generic build");
    Run none = ok(probe(List.of(), List.of("-XX:UseAVX=0"), "library", tmp), "UseAVX=0");
    assertEquals("plain", label(none.probe(), "loaded"));
  }

  @Test
  void aJShellSessionLikeAJavaNotebookKernelGetsTheRightBuild(@TempDir Path tmp) throws Exception {
    // Java notebook kernels (rapaio's among them) evaluate cells with JShell.
    Path script = tmp.resolve("cell.jsh");
    Files.writeString(script, String.join("\n",
        "var c = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 32, 32).mmul("
            + "org.nd4j.linalg.factory.Nd4j.eye(32).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT));",
        "System.out.println(\"probe: {\\\"loaded\\\":\\\"\" + io.laketune.platform.NativeBuilds.loaded().label()"
            + " + \"\\\",\\\"max_rel_err\\\":\" + io.laketune.platform.GemmProbe.check(48) + \"}\");",
        "/exit", ""));
    Run r = run(List.of(Path.of(System.getProperty("java.home"), "bin", "jshell").toString(), "-q", "--class-path",
        System.getProperty("java.class.path"), "-R-Dorg.nd4j.log.initialization=false", "-R-Xmx512m", script.toString()), tmp);
    ok(r, "jshell");
    assertEquals(expectedHere(null).label(), label(r.probe(), "loaded"));
  }

  @Test
  void withOnlyBuildsThisCpuCannotRunNd4jFailsWithASentenceNotSigill(@TempDir Path tmp) throws Exception {
    // A class path holding just the onednn-avx2 build, in a JVM capped below AVX2 (as a CPU without it is).
    String classPath = onlyOneDnnAvx2();
    Run r = probe(List.of(), List.of("-XX:UseAVX=1"), "library", tmp, classPath);
    assertNotEquals(0, r.exit());
    assertFalse(r.output().contains("SIGILL"), r.output());
    assertTrue(r.output().contains("laketune: this CPU") && r.output().contains("lacks avx2")
        && r.output().contains("org.nd4j:nd4j-native:1.0.0-M2.1:linux-x86_64 "), r.output());
    Run init = probe(List.of(), List.of("-XX:UseAVX=1"), "init", tmp, classPath);
    assertNotEquals(0, init.exit());
    assertTrue(init.output().contains("NativeBuildException: this CPU"), init.output());
  }

  /** This test JVM's class path without any ND4J native build but onednn-avx2. */
  static String onlyOneDnnAvx2() {
    String classPath = java.util.Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(e -> !e.matches(".*nd4j-native-[^/]*-linux-x86_64(-avx2|-avx512|-onednn|-onednn-avx512)?\\.jar"))
        .collect(java.util.stream.Collectors.joining(File.pathSeparator));
    assertTrue(classPath.contains("linux-x86_64-onednn-avx2.jar") && !classPath.contains("nd4j-native-1.0.0-M2.1-linux-x86_64.jar"), classPath);
    return classPath;
  }

  static String qemu() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path q = Path.of(dir, "qemu-x86_64");
      if (Files.isExecutable(q)) return q.toString();
    }
    String why = "qemu-x86_64 (Debian's qemu-user) is not installed: the emulated-CPU checks need it";
    if ("1".equals(System.getenv("LAKETUNE_REQUIRE_QEMU"))) throw new AssertionError(why + " (LAKETUNE_REQUIRE_QEMU=1)");
    Assumptions.abort(why);
    return null;
  }

  @Test
  void onAnEmulatedAvx2OnlyCpuTheAvx2BuildLoads(@TempDir Path tmp) throws Exception {
    Run r = ok(probe(List.of(qemu(), "-cpu", "Haswell-v4"), List.of(), "library", tmp), "emulated Haswell");
    assertEquals("onednn-avx2", label(r.probe(), "loaded"), r.output());
    assertTrue(label(r.probe(), "flags_from").contains("UseAVX=2"), "HotSpot's CPUID saw the emulated CPU: " + r.probe());
  }

  @Test
  void onAnEmulatedCpuWithoutAvxThePlainBuildLoadsWhereTheAvx2OneWouldCrash(@TempDir Path tmp) throws Exception {
    List<String> nehalem = List.of(qemu(), "-cpu", "Nehalem");
    Run r = ok(probe(nehalem, List.of(), "library", tmp), "emulated Nehalem");
    assertEquals("plain", label(r.probe(), "loaded"), r.output());
    // The control: loading an AVX build there by hand is the crash users saw before laketune chose.
    Run crash = probe(nehalem, List.of("-D" + NativeBuilds.PROPERTY + "=-onednn-avx2"), "library", tmp);
    assertNotEquals(0, crash.exit());
    assertTrue(crash.output().contains("SIGILL"), crash.output());
    assertTrue(crash.output().contains("was set by hand, but this CPU"), "laketune warned first:\n" + crash.output());
  }
}
