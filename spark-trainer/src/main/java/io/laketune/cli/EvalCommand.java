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
      description = "JSONL: {\"input_ids\":[...],\"labels\":[...]} (labels optional, -100 = ignored) or {\"text\":...}.")
  Path data;

  @Option(names = "--output", description = "Write {\"loss\", \"perplexity\", \"tokens\"} to this JSON file.")
  Path output;

  @picocli.CommandLine.Mixin QuantizeOptions quantize = new QuantizeOptions();

  @Option(names = "--adapter", description = "PEFT adapter directory over the model; repeat to evaluate several (the base is loaded once).")
  List<Path> adapters;

  @Option(names = "--batch-size", defaultValue = "8", description = "Rows per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

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
    Map<String, CausalLm> models = ModelLoading.load(model, adapters, quantize.settings());
    List<TokenizedExample> examples = JsonlExamples.read(data, model, models.values().iterator().next().config().vocabSize());
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
    String json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(result);
    if (output != null) {
      Path parent = output.toAbsolutePath().getParent();
      if (parent != null) Files.createDirectories(parent);
      Files.writeString(output, json + "\n");
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println(json);
    out.flush();
    return 0;
  }
}
