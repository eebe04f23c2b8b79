package io.laketune.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.cli.Laketune;
import io.laketune.model.SharedModels;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * K small tenants in one {@code laketune train} job (tenants = all) against K separate
 * {@code laketune train} runs of the tenants' own datasets, on stories260K: total wall time and base
 * model loads. Run with
 * {@code flock /tmp/laketune-heavy.lock java -cp <spark-trainer test class path> io.laketune.train.TenantBenchmark [K] [steps]}.
 *
 * <p>The separate runs are timed twice. First as K {@code bin/laketune train} processes one after
 * another, as a user scripting K runs starts them (each pays its JVM, Spark and native start and loads
 * the base); then in this JVM one after another, each with its own Spark session and an empty model
 * cache but no JVM start: a lower bound of what separate runs cost. Run from the project root (bin/laketune
 * must be built).
 */
public final class TenantBenchmark {
  private TenantBenchmark() {}

  public static void main(String[] args) throws Exception {
    int k = args.length > 0 ? Integer.parseInt(args[0]) : 8;
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Path model = SharedModels.stories260KHf();
    Path dir = Files.createTempDirectory("laketune-tenant-bench-");
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (int t = 0; t < k; t++) {
      for (int i = 0; i < 24 + 4 * t; i++) {
        lines.add(json.writeValueAsString(Map.of("tenant", "t" + t, "text", "Once upon a time, tenant " + t
            + " had a story number " + i + ". It was about a little dog and a red ball in the park.")));
      }
    }
    Files.write(dir.resolve("in.jsonl"), lines);
    Path data = dir.resolve("data");
    Files.writeString(dir.resolve("prep.conf"), "laketune.prep { input = \"" + dir.resolve("in.jsonl") + "\", output = \""
        + data + "\", tokenizer = \"" + model + "\", format.type = text, length.seq_len = 64, pack.mode = none,"
        + " split.validation_fraction = 0.1, tenant.column = tenant }");
    PrintStream stdout = System.out;
    check(Laketune.run("prepare", "--config", dir.resolve("prep.conf").toString()), "prepare");
    String common = "model = \"" + model + "\", method = lora, lora { r = 8, alpha = 16, target_modules = all-linear },"
        + " workers = 2, batch.micro_batch_size = 2, max_steps = " + steps + ", optimizer.lr = 2e-3";

    List<Path> solo = new ArrayList<>();
    for (int t = 0; t < k; t++) {
      Path conf = dir.resolve("solo-" + t + ".conf");
      Files.writeString(conf, "laketune.train { " + common + ", data = \"" + data.resolve("tenants/t" + t)
          + "\", output = \"" + dir.resolve("solo/t" + t) + "\" }");
      solo.add(conf);
    }
    long tp = System.nanoTime();
    for (int t = 0; t < k; t++) {
      Process p = new ProcessBuilder("bin/laketune", "train", "--config", solo.get(t).toString(), "--set",
          "output=\"" + dir.resolve("process/t" + t) + "\"").redirectErrorStream(true)
          .redirectOutput(dir.resolve("process-" + t + ".log").toFile()).start();
      check(p.waitFor(), "bin/laketune train of tenant t" + t + " (log " + dir.resolve("process-" + t + ".log") + ")");
    }
    double processes = (System.nanoTime() - tp) / 1e9;

    System.setOut(new PrintStream(java.io.OutputStream.nullOutputStream()));
    long loads0 = Replicas.baseLoads();
    long t0 = System.nanoTime();
    for (int t = 0; t < k; t++) {
      Replicas.clear();
      check(Laketune.run("train", "--config", solo.get(t).toString()), "train of tenant t" + t);
    }
    double separate = (System.nanoTime() - t0) / 1e9;
    long separateLoads = Replicas.baseLoads() - loads0;

    Replicas.clear();
    long loads1 = Replicas.baseLoads();
    Path conf = dir.resolve("multi.conf");
    Files.writeString(conf, "laketune.train { " + common + ", data = \"" + data + "\", output = \"" + dir.resolve("multi")
        + "\", tenants = all }");
    long t1 = System.nanoTime();
    check(Laketune.run("train", "--config", conf.toString()), "train of all tenants");
    double one = (System.nanoTime() - t1) / 1e9;
    long oneLoads = Replicas.baseLoads() - loads1;
    System.setOut(stdout);

    System.out.printf(Locale.ROOT, "K = %d tenants of stories260K, LoRA r=8 all-linear, %d steps each, 2 workers x 2 rows"
        + " x 64 tokens, local[2]%n", k, steps);
    System.out.printf(Locale.ROOT, "%-40s %10s %12s %8s%n", "", "wall s", "base loads", "ratio");
    System.out.printf(Locale.ROOT, "%-40s %10.1f %12d %7.2fx%n", k + " separate bin/laketune train processes", processes,
        separateLoads, processes / one); // each process loads as a run in this JVM does
    System.out.printf(Locale.ROOT, "%-40s %10.1f %12d %7.2fx%n", k + " separate train runs in one JVM", separate,
        separateLoads, separate / one);
    System.out.printf(Locale.ROOT, "%-40s %10.1f %12d %7s%n", "one job, tenants = all", one, oneLoads, "1x");
  }

  private static void check(int code, String what) {
    if (code != 0) throw new IllegalStateException(what + " exited with " + code);
  }
}
