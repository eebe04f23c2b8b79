package io.laketune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.laketune.demo.DemoDataset;
import io.laketune.demo.DemoModel;
import io.laketune.demo.DemoRunFiles;
import io.laketune.demo.DemoWorkdir;
import io.laketune.demo.SplitDocuments;
import io.laketune.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code laketune demo}: the whole pipeline on a bundled small model and dataset, on local Spark
 * and the local file system. It writes a model checkpoint, a JSONL dataset and two run files into
 * a work directory, then runs the same commands a user runs ({@code prepare}, {@code train},
 * {@code eval}, {@code generate}) through {@link Laketune#run}, so it proves the real code paths.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the pipeline end to end on a bundled small model and dataset (local Spark, about 2 minutes).")
public final class DemoCommand implements Callable<Integer> {

  @Option(names = "--workdir", defaultValue = "laketune-demo",
      description = "Work directory: new, or a previous demo's to reuse and resume (default ${DEFAULT-VALUE}).")
  Path workdir;

  @Option(names = "--steps", defaultValue = "" + DemoRunFiles.DEFAULT_STEPS,
      description = "Training steps (default ${DEFAULT-VALUE}; 2 workers x 4 rows x 256 tokens each).")
  int steps;

  private PrintStream out;

  @Override
  public Integer call() throws Exception {
    if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
    out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    long started = System.nanoTime();
    Path dir = workdir.toAbsolutePath().normalize();
    boolean reused = DemoWorkdir.claim(dir);
    String root = dir.toUri().toString().replaceAll("/$", "");
    Path model = dir.resolve("model"), dataset = dir.resolve(DemoDataset.FILE_NAME);
    Path prepareConf = dir.resolve("prepare.conf"), trainConf = dir.resolve("train.conf");
    Path adapter = dir.resolve("run/final/adapter"), validation = dir.resolve("validation.jsonl");
    checkSameSteps(dir, trainConf);
    heading("laketune demo in " + dir + (reused ? " (reusing what a previous demo left there)" : ""));

    if (Files.exists(model) && !Files.isRegularFile(model.resolve("model.safetensors"))) {
      throw new IllegalArgumentException(model + " is incomplete (no model.safetensors); delete it and run the demo again");
    }
    if (!Files.exists(model)) {
      // written under a hidden name and renamed, so that model/ is always complete
      Path tmp = Files.createTempDirectory(dir, ".model-");
      DemoModel.write(tmp);
      Files.move(tmp, model);
    }
    out.println("model    " + model + "  (Llama architecture, 3.4 M parameters, GPT-2 tokenizer;");
    out.println("         random weights, not pretrained: this demo shows the pipeline, not a useful model)");
    if (!Files.isRegularFile(dataset)) DemoDataset.write(dataset);
    out.println("dataset  " + dataset + "  (State of the Union passages: prompt = two sentences, completion = the next two)");
    Files.writeString(prepareConf, "# Written by `laketune demo`; rerun with: bin/laketune prepare --config " + prepareConf + "\n"
        + DemoRunFiles.prepare(root));
    Files.writeString(trainConf, "# Written by `laketune demo`; rerun (resumes from the latest checkpoint) with:\n"
        + "#   bin/laketune train --config " + trainConf + "\n" + DemoRunFiles.train(root, steps));
    out.println("run files " + prepareConf + ", " + trainConf);

    heading("1/4 prepare: tokenize, mask the prompts, pack into 256-token rows, 10% validation split (Spark job)");
    if (Files.isRegularFile(dir.resolve("data/manifest.json"))) out.println("data/ is prepared already; keeping it");
    else laketune("prepare", "--config", prepareConf.toString());

    heading("2/4 train: LoRA r=8 on every linear layer, 2 workers on local Spark, " + steps + " steps, validation every "
        + DemoRunFiles.EVAL_EVERY + " steps");
    laketune("train", "--config", trainConf.toString());

    heading("3/4 eval: base model vs base + adapter on the validation split");
    List<SplitDocuments.Doc> docs = SplitDocuments.read(root + "/data", "validation");
    SplitDocuments.writeJsonl(docs, validation);
    laketune("eval", "--model", model.toString(), "--data", validation.toString(), "--output", dir.resolve("eval-base.json").toString());
    laketune("eval", "--model", model.toString(), "--adapter", adapter.toString(), "--data", validation.toString(),
        "--output", dir.resolve("eval-adapter.json").toString());

    heading("4/4 generate: a held-out prompt, sampled with the same seed from the base model and with the adapter"
        + " (random base weights: expect noise either way)");
    String[] promptAndReference = promptAndReference(model, docs.get(0));
    out.println(promptAndReference[0]);
    out.println("--- reference continuation:");
    out.println(promptAndReference[1].strip());
    List<String> generate = List.of("generate", "--model", model.toString(), "--prompt", promptAndReference[0], "--max-new-tokens", "40",
        "--temperature", "0.7", "--top-k", "40", "--seed", "1");
    out.println("--- base model:");
    laketune(generate.toArray(String[]::new));
    List<String> withAdapter = new ArrayList<>(generate);
    withAdapter.addAll(List.of("--adapter", adapter.toString()));
    out.println("--- base + adapter:");
    laketune(withAdapter.toArray(String[]::new));

    summary(dir, dataset, validation, (System.nanoTime() - started) / 1e9);
    return 0;
  }

  /** A rerun with another --steps would meet checkpoints of a different config: say so plainly. */
  private void checkSameSteps(Path dir, Path trainConf) {
    if (!Files.isRegularFile(trainConf) || !Files.isDirectory(dir.resolve("run"))) return;
    int before = ConfigFactory.parseFile(trainConf.toFile()).getInt("laketune.train.max_steps");
    if (before != steps) {
      throw new IllegalArgumentException(dir + "/run holds a demo run of " + before + " steps; pass --steps " + before
          + " to resume it, or a new --workdir to train " + steps + " steps");
    }
  }

  /** The prompt (the unscored tokens) and the reference completion of a prepared document. */
  private static String[] promptAndReference(Path model, SplitDocuments.Doc doc) throws Exception {
    int promptLen = 0;
    while (promptLen < doc.labels().length && doc.labels()[promptLen] == -100) promptLen++;
    try (Tokenizer tok = Tokenizer.load(model)) {
      return new String[] {tok.decode(Arrays.copyOfRange(doc.ids(), 0, promptLen), true),
          tok.decode(Arrays.copyOfRange(doc.ids(), promptLen, doc.ids().length), true)};
    }
  }

  private void laketune(String... args) {
    int code = Laketune.run(args);
    if (code != 0) {
      throw new IllegalStateException("the demo stopped because `laketune " + String.join(" ", args)
          + "` failed (its message is above)");
    }
  }

  private void heading(String text) {
    out.println();
    out.println("== " + text);
  }

  private void summary(Path dir, Path dataset, Path validation, double seconds) throws Exception {
    ObjectMapper json = new ObjectMapper();
    double base = json.readTree(dir.resolve("eval-base.json").toFile()).get("loss").asDouble();
    double tuned = json.readTree(dir.resolve("eval-adapter.json").toFile()).get("loss").asDouble();
    Double firstTrain = null, lastTrain = null;
    for (String line : Files.readAllLines(dir.resolve("run/metrics.jsonl"))) {
      JsonNode e = json.readTree(line);
      if (e.has("loss")) {
        if (firstTrain == null) firstTrain = e.get("loss").asDouble();
        lastTrain = e.get("loss").asDouble();
      }
    }
    String rel = relative(dir);
    heading(String.format(Locale.ROOT, "done in %.0f s", seconds));
    out.printf(Locale.ROOT, "validation loss  %.4f base -> %.4f with the adapter (perplexity %.0f -> %.0f)%n",
        base, tuned, Math.exp(base), Math.exp(tuned));
    if (firstTrain != null) out.printf(Locale.ROOT, "training loss    %.4f at step 1 -> %.4f at the last step%n", firstTrain, lastTrain);
    out.println("dataset          " + dataset + "  (prepared: " + dir.resolve("data") + ", validation documents: " + validation + ")");
    out.println("adapter          " + dir.resolve("run/final/adapter") + "  (PEFT format)");
    out.println("metrics          " + dir.resolve("run/metrics.jsonl"));
    out.println("loss curve       " + dir.resolve("run/loss.png"));
    out.println();
    out.println("Next:");
    out.println("  merge the adapter into a Hugging Face checkpoint:");
    out.println("    bin/laketune export --model " + rel + "/model --adapter " + rel + "/run/final/adapter --merge --output "
        + rel + "/merged");
    out.println("  train again: an interrupted run resumes from its latest checkpoint, a finished one stays as it is:");
    out.println("    bin/laketune train --config " + rel + "/train.conf");
    out.println("  evaluate or generate yourself:");
    out.println("    bin/laketune eval --model " + rel + "/model --adapter " + rel + "/run/final/adapter --data " + rel
        + "/validation.jsonl");
    out.println("    bin/laketune generate --model " + rel + "/model --adapter " + rel + "/run/final/adapter --prompt \"Continue the 1863 State of the Union address by Abraham Lincoln.\" --temperature 0.7 --top-k 40");
    out.println("  the same run under spark-submit, here on a one-machine standalone cluster (cluster-configs/README.md has");
    out.println("  YARN, Kubernetes and larger models):");
    out.println("    SPARK_HOME=/opt/spark SPARK_MASTER=spark://localhost:7077 cluster-configs/submit-standalone.sh train "
        + rel + "/train.conf");
  }

  /** The work directory as the user can type it from here: relative when it is below the current directory. */
  private static String relative(Path dir) {
    Path here = Path.of("").toAbsolutePath();
    return dir.startsWith(here) && !dir.equals(here) ? here.relativize(dir).toString() : dir.toString();
  }
}
