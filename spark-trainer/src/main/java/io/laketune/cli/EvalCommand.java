package io.laketune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.model.CausalLm;
import io.laketune.model.Loss;
import io.laketune.model.TokenizedExample;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code laketune eval}: token-weighted mean cross-entropy and perplexity of a model over every
 * labelled token of a JSONL file, in fp32.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Mean cross-entropy and perplexity of a model over a JSONL file.")
public final class EvalCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, description = "HF checkpoint directory.")
  Path model;

  @Option(names = "--data", required = true,
      description = "JSONL: {\"input_ids\":[...],\"labels\":[...]} (labels optional, -100 = ignored) or {\"text\":...};"
          + " or a dataset made by laketune prepare (a directory with manifest.json, any Hadoop FS), evaluated as a Spark job.")
  String data;

  @Option(names = "--split", description = "Split of a prepared dataset (default: validation, else train).")
  String split;

  @Option(names = "--workers", defaultValue = "2", description = "Spark tasks for a prepared dataset (default ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--output", description = "Write {\"loss\", \"perplexity\", \"tokens\"} to this JSON file.")
  Path output;

  @picocli.CommandLine.Mixin QuantizeOptions quantize = new QuantizeOptions();

  @Option(names = "--adapter", description = "PEFT adapter directory over the model; repeat to evaluate several (the base is loaded once).")
  List<Path> adapters;

  @Option(names = "--batch-size", defaultValue = "8", description = "Rows per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

  static boolean isPreparedDataset(String data) throws java.io.IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(data, "manifest.json");
    return p.getFileSystem(new org.apache.hadoop.conf.Configuration()).exists(p);
  }

  /** A prepared dataset's split, evaluated by a Spark job (local mode unless spark-submit named a cluster). */
  private Integer evalDataset() throws Exception {
    if (adapters != null && adapters.size() > 1) throw new IllegalArgumentException("give at most one --adapter with a prepared dataset");
    if (workers <= 0) throw new IllegalArgumentException("--workers must be positive, got " + workers);
    String s = split != null ? split : io.laketune.train.data.PreparedRows.has(data, "validation") ? "validation" : "train";
    org.apache.spark.sql.SparkSession spark = LocalSpark.session("laketune eval", null, "local[" + workers + "]");
    Loss total;
    try {
      total = io.laketune.train.DatasetEval.run(
          org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext()), model.toString(),
          adapters == null || adapters.isEmpty() ? null : adapters.get(0), quantize.settings(), data, s, workers, batchSize);
    } finally {
      spark.stop();
    }
    if (total.count() == 0) throw new IllegalArgumentException(data + " split " + s + " has no labelled tokens to evaluate");
    ObjectNode result = new ObjectMapper().createObjectNode();
    result.put("split", s);
    result.put("loss", total.mean());
    result.put("perplexity", Math.exp(total.mean()));
    result.put("tokens", total.count());
    write(result);
    return 0;
  }

  private void write(ObjectNode result) throws java.io.IOException {
    String json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(result);
    if (output != null) {
      Path parent = output.toAbsolutePath().getParent();
      if (parent != null) Files.createDirectories(parent);
      Files.writeString(output, json + "\n");
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println(json);
    out.flush();
  }

  private Loss evaluate(CausalLm lm, List<TokenizedExample> examples) {
    Loss total = new Loss(0, 0);
    for (int i = 0; i < examples.size(); i += batchSize) {
      total = total.plus(lm.loss(TokenizedExample.padRight(examples.subList(i, Math.min(examples.size(), i + batchSize)))));
    }
    if (total.count() == 0) {
      throw new IllegalArgumentException(data + " has no labelled tokens to evaluate (every label is -100, or rows have one token)");
    }
    return total;
  }

  @Override
  public Integer call() throws Exception {
    if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be positive, got " + batchSize);
    if (isPreparedDataset(data)) return evalDataset();
    Path file = Path.of(data);
    Map<String, CausalLm> models = ModelLoading.load(model, adapters, quantize.settings());
    List<TokenizedExample> examples = JsonlExamples.read(file, model, models.values().iterator().next().config().vocabSize());
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode result = null;
    ArrayNode all = mapper.createArrayNode();
    for (Map.Entry<String, CausalLm> e : models.entrySet()) {
      Loss total = evaluate(e.getValue(), examples);
      result = mapper.createObjectNode();
      if (adapters != null && !adapters.isEmpty()) result.put("adapter", e.getKey());
      result.put("loss", total.mean());
      result.put("perplexity", Math.exp(total.mean()));
      result.put("tokens", total.count());
      all.add(result);
    }
    if (all.size() > 1) {
      result = mapper.createObjectNode();
      result.set("results", all);
    }
    write(result);
    return 0;
  }
}
