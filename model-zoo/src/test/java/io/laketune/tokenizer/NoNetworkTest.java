package io.laketune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading and using a tokenizer makes no network call, and DJL's native library does not go to
 * an unwritable home directory. Each case runs {@link NetworkProbe} in a fresh JVM with none of
 * the opt-outs that the build and bin/laketune set (OPT_OUT_TRACKING, DJL_OFFLINE,
 * -Dai.djl.offline), a home directory that does not exist, and its own temporary directory.
 */
@Tag("integration")
class NoNetworkTest {

  @TempDir Path tmp;

  @Test
  void theRecorderSeesDeliberateConnections() throws Exception {
    List<String> out = runProbe("probe");
    assertTrue(out.contains("ATTEMPT url http://169.254.169.254/latest/api/token"), out::toString);
    assertTrue(out.stream().anyMatch(l -> l.startsWith("ATTEMPT socket /10.0.0.1:9")), out::toString);
  }

  @Test
  void djlOnItsOwnCallsHome() throws Exception {
    // Without laketune's switch DJL asks the cloud metadata address: this is what the next test
    // must not see, and the proof that the recorder would see it.
    List<String> out = runProbe("djl", TokenizerFixtures.modelDir("gpt2").toString());
    assertTrue(out.stream().anyMatch(l -> l.startsWith("ATTEMPT url http://169.254.169.254/")), out::toString);
  }

  @Test
  void laketuneTokenizerMakesNoNetworkCall() throws Exception {
    List<String> out = runProbe("laketune", TokenizerFixtures.modelDir("llama3").toString());
    assertTrue(out.contains("QUIET"), out::toString);
    // Only the deliberate probe at the end, which shows the recorder was live in that JVM.
    List<String> attempts =
        out.stream().filter(l -> l.startsWith("ATTEMPT")).collect(Collectors.toList());
    assertEquals(2, attempts.size(), out::toString);

    Path cache = tmp.resolve("java-tmp").resolve("laketune-djl-" + System.getProperty("user.name"));
    assertTrue(out.contains("CACHE " + cache), out::toString);
    try (Stream<Path> files = Files.walk(cache)) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("libtokenizers")));
    }
    assertTrue(Files.notExists(tmp.resolve("no-home")));
  }

  private List<String> runProbe(String... args) throws IOException, InterruptedException {
    Path javaTmp = Files.createDirectories(tmp.resolve("java-tmp"));
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Duser.home=" + tmp.resolve("no-home"));
    command.add("-Djava.io.tmpdir=" + javaTmp);
    command.add("-cp");
    command.add(classPath);
    command.add(NetworkProbe.class.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    Map<String, String> env = builder.environment();
    for (String name :
        List.of("OPT_OUT_TRACKING", "DJL_OFFLINE", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR", "JAVA_TOOL_OPTIONS")) {
      env.remove(name);
    }
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "probe JVM did not finish");
    assertEquals(0, process.exitValue(), output);
    List<String> lines = output.lines().collect(Collectors.toList());
    assertTrue(lines.contains("DONE"), output);
    return lines;
  }
}
