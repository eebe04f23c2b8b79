package io.laketune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.platform.CpuInfo;
import io.laketune.platform.NativeBuild;
import io.laketune.platform.NativeBuilds;
import io.laketune.tokenizer.Tokenizer;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code laketune env}: is this machine set up right? The CPU and the flags that matter, the ND4J
 * native build chosen and why (and the one really loaded), threads, a measured fp32 GEMM rate, the
 * versions of Java, Spark, Hadoop and ND4J, and DJL's offline state and cache folder.
 */
@Command(name = "env", mixinStandardHelpOptions = true,
    description = "This machine as laketune sees it: CPU, native build and why, threads, GEMM GFLOP/s, versions, DJL.")
public final class EnvCommand implements Callable<Integer> {

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Option(names = "--gemm-size", defaultValue = "2048",
      description = "n of the n x n x n fp32 GEMM that is timed (default ${DEFAULT-VALUE}; 0 skips it).")
  int gemmSize;

  @Override
  public Integer call() throws Exception {
    if (gemmSize < 0) throw new IllegalArgumentException("--gemm-size must be 0 (skip) or positive, got " + gemmSize);
    NativeBuilds.Selection sel = NativeBuilds.initQuietly();
    CpuInfo cpu = sel.cpu();
    ObjectMapper om = new ObjectMapper();
    ObjectNode root = om.createObjectNode();

    ObjectNode c = root.putObject("cpu");
    c.put("model", cpu.model());
    c.put("arch", cpu.arch());
    c.put("logical_cpus", Runtime.getRuntime().availableProcessors());
    ArrayNode flags = c.putArray("flags");
    cpu.shownFlags().forEach(flags::add);
    c.put("flags_from", cpu.source());

    ObjectNode n = root.putObject("native");
    n.put("platform", sel.platform());
    n.put("chosen", sel.build() == null ? null : sel.build().label());
    n.put("property", System.getProperty(NativeBuilds.PROPERTY));
    n.put("reason", sel.reason());
    if (sel.warning() != null) n.put("warning", sel.warning());
    if (sel.problem() != null) n.put("problem", sel.problem());
    ArrayNode avail = n.putArray("on_class_path");
    ArrayNode runnable = n.putArray("runnable_here");
    ArrayNode notRunnable = n.putArray("not_runnable_here");
    for (NativeBuild b : sel.available()) {
      avail.add(b.label());
      if (b.runsOn(cpu)) runnable.add(b.label());
      else notRunnable.add(b.label() + ": " + String.join(" ", b.missingOn(cpu)));
    }

    ObjectNode t = root.putObject("threads");
    t.put("OMP_NUM_THREADS", System.getenv("OMP_NUM_THREADS"));
    t.put("jvm_processors", Runtime.getRuntime().availableProcessors());

    ObjectNode g = root.putObject("gemm");
    if (sel.problem() == null) {
      // Loads ND4J's native code: everything above is printed even where this fails.
      org.nd4j.linalg.factory.Nd4j.getEnvironment();
      NativeBuild loaded = NativeBuilds.loaded();
      n.put("loaded", loaded == null ? null : loaded.label());
      t.put("nd4j_max_threads", org.nd4j.linalg.factory.Nd4j.getEnvironment().maxThreads());
      t.put("nd4j_max_master_threads", org.nd4j.linalg.factory.Nd4j.getEnvironment().maxMasterThreads());
      if (gemmSize > 0) {
        g.put("n", gemmSize);
        g.put("gflops", Math.round(io.laketune.bench.Gemm.bestRate(gemmSize, 5) / 1e8) / 10.0);
      }
    }

    ObjectNode v = root.putObject("versions");
    v.put("laketune", "0.1.0");
    v.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ", "
        + System.getProperty("java.vendor") + ")");
    v.put("java_home", System.getProperty("java.home"));
    v.put("spark", org.apache.spark.package$.MODULE$.SPARK_VERSION());
    v.put("scala", scala.util.Properties.versionNumberString());
    v.put("hadoop", org.apache.hadoop.util.VersionInfo.getVersion());
    v.put("nd4j", mavenVersion("org.nd4j", "nd4j-native"));

    Tokenizer.DjlState djl = Tokenizer.djlState();
    ObjectNode d = root.putObject("djl");
    d.put("offline", djl.offline());
    d.put("usage_tracking_off", djl.trackingOff());
    d.put("cache_dir", djl.cacheDir());

    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    if (json) {
      out.println(om.writeValueAsString(root));
    } else {
      printText(out, root);
    }
    return 0;
  }

  private static void printText(PrintStream out, ObjectNode r) {
    var c = r.get("cpu");
    var n = r.get("native");
    var t = r.get("threads");
    var g = r.get("gemm");
    var v = r.get("versions");
    var d = r.get("djl");
    out.printf("cpu            %s (%s, %d logical CPUs)%n", c.get("model").asText(), c.get("arch").asText(),
        c.get("logical_cpus").asInt());
    out.printf("cpu flags      %s  [from %s]%n", join(c.get("flags")), c.get("flags_from").asText());
    out.printf("native build   %s: %s%n", n.hasNonNull("chosen") ? n.get("chosen").asText() : "none",
        n.get("reason").asText());
    out.printf("               on the class path: %s; runnable here: %s%n", join(n.get("on_class_path")),
        join(n.get("runnable_here")));
    for (var b : n.get("not_runnable_here")) out.printf("               cannot run %s (lacks it)%n", b.asText());
    if (n.has("loaded")) out.printf("               loaded: %s%n", n.hasNonNull("loaded") ? n.get("loaded").asText() : "(unknown)");
    if (n.has("warning")) out.printf("  WARNING      %s%n", n.get("warning").asText());
    if (n.has("problem")) out.printf("  PROBLEM      %s%n", n.get("problem").asText());
    out.printf("threads        OMP_NUM_THREADS=%s, JVM processors %d%s%n",
        t.hasNonNull("OMP_NUM_THREADS") ? t.get("OMP_NUM_THREADS").asText() : "(unset)", t.get("jvm_processors").asInt(),
        t.has("nd4j_max_threads") ? ", ND4J threads " + t.get("nd4j_max_threads").asInt() : "");
    if (g.has("gflops")) {
      int size = g.get("n").asInt();
      out.printf("fp32 GEMM      %.1f GFLOP/s (%d x %d x %d Nd4j.gemm, best of 5)%n", g.get("gflops").asDouble(), size, size, size);
    }
    out.printf("java           %s at %s%n", v.get("java").asText(), v.get("java_home").asText());
    out.printf("spark          %s (Scala %s)%n", v.get("spark").asText(), v.get("scala").asText());
    out.printf("hadoop         %s%n", v.get("hadoop").asText());
    out.printf("nd4j           %s%n", v.get("nd4j").asText());
    out.printf("djl            offline %s, usage tracking %s, cache %s%n", d.get("offline").asBoolean() ? "on" : "OFF",
        d.get("usage_tracking_off").asBoolean() ? "off" : "ON", d.get("cache_dir").asText());
  }

  private static String join(com.fasterxml.jackson.databind.JsonNode array) {
    List<String> parts = new ArrayList<>();
    array.forEach(e -> parts.add(e.asText()));
    return parts.isEmpty() ? "(none)" : String.join(" ", parts);
  }

  private static String mavenVersion(String group, String artifact) {
    String res = "META-INF/maven/" + group + "/" + artifact + "/pom.properties";
    try (InputStream in = EnvCommand.class.getClassLoader().getResourceAsStream(res)) {
      if (in == null) return "unknown";
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }
}
