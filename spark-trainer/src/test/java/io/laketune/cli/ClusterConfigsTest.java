package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import io.laketune.demo.DemoRunFiles;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.train.TrainConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cluster-configs/: every run file parses against the reference.conf files (a misspelt key fails the
 * build), is named model_method_cluster.conf and opens with the command that runs it; every script
 * passes bash -n, and the submit scripts build the spark-submit line they promise (DRY_RUN=1 over a
 * stand-in build and Spark distribution).
 */
class ClusterConfigsTest {
  static final Path DIR = repoRoot().resolve("cluster-configs");

  static Path repoRoot() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-configs")) ? here : here.getParent();
  }

  static List<Path> files(String suffix) throws IOException {
    try (Stream<Path> s = Files.list(DIR)) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
    }
  }

  @Test
  void everyRunFileParsesIsWellNamedAndOpensWithItsCommand() throws Exception {
    List<Path> confs = files(".conf");
    assertTrue(confs.size() >= 5, "run files: " + confs);
    for (Path f : confs) {
      String name = f.getFileName().toString();
      Config raw = ConfigFactory.parseFile(f.toFile());
      assertEquals(Set.of("laketune"), raw.root().keySet(), name + ": only laketune.* sections");
      Set<String> sections = raw.getObject("laketune").keySet();
      assertTrue(Set.of("prep", "train").containsAll(sections), name + " has sections " + sections + "; allowed: prep, train");
      assertTrue(name.matches("[a-z0-9.-]+_(full|lora|qlora)_[a-z0-9-]+\\.conf"), name + " is not <model>_<method>_<cluster>.conf");
      String text = Files.readString(f, StandardCharsets.UTF_8);
      assertTrue(text.startsWith("# "), name + " opens with a comment");
      if (sections.contains("prep")) {
        PrepConfigParser.load(f, List.of());
        assertTrue(commandLines(text).stream().anyMatch(l -> l.contains("prepare") && l.contains(name)),
            name + " gives the command that prepares its data");
      }
      assertTrue(sections.contains("train"), name + " has a laketune.train section");
      TrainConfig train = TrainConfig.load(f, List.of());
      assertEquals(name.split("_")[1], train.method().name().toLowerCase(Locale.ROOT), name + ": the method in the name");
      assertTrue(commandLines(text).stream().anyMatch(l -> l.contains("train") && l.contains(name)),
          name + " gives the command that trains");
    }
  }

  /** The indented command lines of the opening comment. */
  static List<String> commandLines(String text) {
    List<String> out = new ArrayList<>();
    for (String line : text.lines().toList()) {
      if (!line.startsWith("#")) break;
      if (line.startsWith("#   ")) out.add(line.substring(4));
    }
    return out;
  }

  @Test
  void theLocalDemoFileIsWhatTheDemoRuns() throws Exception {
    Config file = ConfigFactory.parseFile(DIR.resolve("local_lora_demo.conf").toFile());
    Config demo = ConfigFactory.parseString(DemoRunFiles.prepare("laketune-demo") + DemoRunFiles.train("laketune-demo",
        DemoRunFiles.DEFAULT_STEPS));
    for (String section : List.of("laketune.prep", "laketune.train")) {
      assertEquals(render(demo.getConfig(section)), render(file.getConfig(section)), section);
    }
  }

  static String render(Config c) {
    return c.root().render(ConfigRenderOptions.concise());
  }

  @Test
  void scriptsPassBashN() throws Exception {
    List<Path> scripts = files(".sh");
    assertTrue(scripts.size() >= 4, "scripts: " + scripts);
    for (Path s : scripts) {
      Result r = run(List.of("bash", "-n", s.toString()), Map.of());
      assertEquals(0, r.code, s + ": " + r.output);
      if (!s.getFileName().toString().equals("submit-common.sh")) assertTrue(Files.isExecutable(s), s + " is executable");
    }
  }

  @Test
  void submitScriptsBuildTheSparkSubmitLine(@TempDir Path tmp) throws Exception {
    Path build = fakeBuild(tmp.resolve("build"));
    Path spark = Files.createDirectories(tmp.resolve("spark/jars"));
    Files.createFile(spark.resolve("spark-core_2.13-4.1.3.jar"));
    Files.createFile(spark.resolve("jackson-databind-2.18.2.jar"));
    Files.createDirectories(tmp.resolve("spark/examples/src/main/scripts"));
    Files.createFile(tmp.resolve("spark/examples/src/main/scripts/getGpusResources.sh"));
    Map<String, String> env = Map.of("LAKETUNE_BUILD", build.toString(), "SPARK_HOME", tmp.resolve("spark").toString(),
        "DRY_RUN", "1");

    Result yarn = run(List.of(DIR.resolve("submit-yarn.sh").toString(), "train", DIR.resolve("llama3-8b_qlora_yarn-gpu.conf").toString(),
        "--set", "max_steps=10"), env);
    assertEquals(0, yarn.code, yarn.output);
    for (String expected : List.of("--class io.laketune.cli.Laketune", "--master yarn", "--num-executors 8",
        "--deploy-mode cluster", "spark.executor.cores=1", "spark.task.cpus=1", "spark.executor.resource.gpu.amount=1",
        "spark.task.resource.gpu.amount=1", "spark.driver.resource.gpu.amount=1",
        "spark.executor.resource.gpu.discoveryScript=./getGpusResources.sh", "spark.executorEnv.OPT_OUT_TRACKING=true",
        "spark.executorEnv.DJL_OFFLINE=true", "spark.yarn.appMasterEnv.OPT_OUT_TRACKING=true",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "spark.executor.memoryOverhead=24g",
        "-Dorg.bytedeco.javacpp.maxbytes=25769803776", build + "/spark-trainer/target/spark-trainer-0.1.0-SNAPSHOT.jar train",
        "--config llama3-8b_qlora_yarn-gpu.conf --set workers=8 --set max_steps=10")) {
      assertTrue(yarn.output.contains(expected), "yarn line has " + expected + ":\n" + yarn.output);
    }
    String jars = yarn.output.replaceAll("(?s).*--jars (\\S+).*", "$1");
    assertTrue(jars.contains("/deps/tokenizers-0.38.0.jar") && jars.contains("/data-prep-0.1.0-SNAPSHOT.jar"), jars);
    assertFalse(jars.contains("spark-core") || jars.contains("jackson-databind"), "jars Spark has are not shipped: " + jars);

    Result k8s = run(List.of(DIR.resolve("submit-k8s.sh").toString(), "train", DIR.resolve("llama3-8b_lora_k8s.conf").toString()),
        merged(env, Map.of("K8S_API", "https://k8s:6443", "LAKETUNE_IMAGE", "laketune:test")));
    assertEquals(0, k8s.code, k8s.output);
    for (String expected : List.of("--master k8s://https://k8s:6443", "spark.executor.instances=4",
        "spark.kubernetes.container.image=laketune:test", "spark.executor.resource.gpu.vendor=nvidia.com",
        "local:///opt/laketune/jars/spark-trainer-0.1.0-SNAPSHOT.jar train --config /opt/laketune/conf/llama3-8b_lora_k8s.conf",
        "spark.kubernetes.driverEnv.DJL_OFFLINE=true")) {
      assertTrue(k8s.output.contains(expected), "k8s line has " + expected + ":\n" + k8s.output);
    }

    Result standalone = run(List.of(DIR.resolve("submit-standalone.sh").toString(), "train",
        DIR.resolve("mistral-7b_lora_standalone.conf").toString()),
        merged(env, Map.of("SPARK_MASTER", "spark://m:7077", "CORES_PER_WORKER", "16")));
    assertEquals(0, standalone.code, standalone.output);
    for (String expected : List.of("--master spark://m:7077", "--total-executor-cores 96", "spark.executor.cores=16",
        "spark.task.cpus=16", "spark.executorEnv.OMP_NUM_THREADS=16", "--deploy-mode client",
        "--config " + DIR.resolve("mistral-7b_lora_standalone.conf") + " --set workers=6")) {
      assertTrue(standalone.output.contains(expected), "standalone line has " + expected + ":\n" + standalone.output);
    }
    assertFalse(standalone.output.contains("resource.gpu"), "CPU workers by default on standalone");

    Result prepare = run(List.of(DIR.resolve("submit-yarn.sh").toString(), "prepare", DIR.resolve("llama3-8b_qlora_yarn-gpu.conf").toString()), env);
    assertEquals(0, prepare.code, prepare.output);
    assertTrue(prepare.output.contains("--num-executors 4") && prepare.output.contains("spark.executor.cores=4"), prepare.output);
    assertFalse(prepare.output.contains("resource.gpu") || prepare.output.contains("--set workers"), prepare.output);

    Result usage = run(List.of(DIR.resolve("submit-yarn.sh").toString()), env);
    assertEquals(2, usage.code);
    assertTrue(usage.output.contains("usage: submit-yarn.sh prepare|train RUN_FILE"), usage.output);
    Result eval = run(List.of(DIR.resolve("submit-yarn.sh").toString(), "eval", DIR.resolve("llama3-8b_qlora_yarn-gpu.conf").toString()), env);
    assertEquals(2, eval.code);
    assertTrue(eval.output.contains("the command must be prepare or train"), eval.output);
  }

  @Test
  void onlyTheNativeBuildsAClusterNeedsAreShipped(@TempDir Path tmp) throws Exception {
    Path build = fakeBuild(tmp.resolve("build"));
    Files.createDirectories(tmp.resolve("spark/jars"));
    Map<String, String> env = Map.of("LAKETUNE_BUILD", build.toString(), "SPARK_HOME", tmp.resolve("spark").toString(),
        "DRY_RUN", "1", "SPARK_MASTER", "spark://m:7077");
    List<String> cmd = List.of(DIR.resolve("submit-standalone.sh").toString(), "train", DIR.resolve("mistral-7b_lora_standalone.conf").toString());
    String all = jars(run(cmd, env));
    for (String b : List.of("linux-x86_64.jar", "linux-x86_64-onednn-avx2.jar", "linux-x86_64-onednn-avx512.jar", "nd4j-native-1.0.0-M2.1.jar",
        "nd4j-native-api-1.0.0-M2.1.jar")) {
      assertTrue(all.contains(b), "by default every build ships (mixed hardware), " + b + ": " + all);
    }
    String avx512 = jars(run(cmd, merged(env, Map.of("NATIVE_BUILDS", "onednn-avx512"))));
    assertTrue(avx512.contains("nd4j-native-1.0.0-M2.1-linux-x86_64-onednn-avx512.jar"), avx512);
    assertFalse(avx512.contains("linux-x86_64.jar") || avx512.contains("onednn-avx2"), "only the build asked for: " + avx512);
    assertTrue(avx512.contains("nd4j-native-1.0.0-M2.1.jar") && avx512.contains("nd4j-native-api"), "ND4J's Java classes always ship");
    String two = jars(run(cmd, merged(env, Map.of("NATIVE_BUILDS", "plain,onednn-avx2"))));
    assertTrue(two.contains("linux-x86_64.jar") && two.contains("onednn-avx2") && !two.contains("onednn-avx512"), two);
    Result missing = run(cmd, merged(env, Map.of("NATIVE_BUILDS", "avx512")));
    assertEquals(2, missing.code, missing.output);
    assertTrue(missing.output.contains("NATIVE_BUILDS names avx512, but the local build has no such ND4J build (it has: plain,"
        + " onednn-avx2, onednn-avx512)"), missing.output);
  }

  static String jars(Result r) {
    assertEquals(0, r.code, r.output);
    return r.output.replaceAll("(?s).*--jars (\\S+).*", "$1");
  }

  /** spark-trainer/target as a package build leaves it: the application jar and classpath.txt. */
  static Path fakeBuild(Path root) throws IOException {
    Path deps = Files.createDirectories(root.resolve("deps"));
    List<String> cp = new ArrayList<>();
    for (String module : List.of("data-prep", "model-zoo", "spark-trainer")) {
      Path jar = Files.createDirectories(root.resolve(module + "/target")).resolve(module + "-0.1.0-SNAPSHOT.jar");
      Files.createFile(jar);
      if (!module.equals("spark-trainer")) cp.add(jar.toString());
    }
    for (String dep : List.of("spark-core_2.13-4.1.3.jar", "jackson-databind-2.21.2.jar", "tokenizers-0.38.0.jar",
        "nd4j-native-1.0.0-M2.1.jar", "nd4j-native-api-1.0.0-M2.1.jar", "nd4j-native-1.0.0-M2.1-linux-x86_64.jar",
        "nd4j-native-1.0.0-M2.1-linux-x86_64-onednn-avx2.jar", "nd4j-native-1.0.0-M2.1-linux-x86_64-onednn-avx512.jar")) {
      cp.add(Files.createFile(deps.resolve(dep)).toString());
    }
    Files.writeString(root.resolve("spark-trainer/target/classpath.txt"), String.join(":", cp));
    return root;
  }

  static Map<String, String> merged(Map<String, String> a, Map<String, String> b) {
    Map<String, String> m = new java.util.HashMap<>(a);
    m.putAll(b);
    return m;
  }

  record Result(int code, String output) {}

  static Result run(List<String> command, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("SPARK_") || k.equals("WORKERS") || k.equals("DEPLOY_MODE")
        || k.equals("NATIVE_BUILDS")
        || k.endsWith("_MEMORY") || k.endsWith("_PER_WORKER"));
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Result(p.waitFor(), out);
  }
}
