package io.laketune.cli;

import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.model.CausalLm;
import io.laketune.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code laketune generate}: continues a prompt with a KV cache, streaming the text as it comes.
 * Greedy at temperature 0; otherwise temperature, top-k and top-p sampling as HF generate.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Continue a prompt.")
public final class GenerateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, description = "HF checkpoint directory.")
  Path model;

  @picocli.CommandLine.Mixin QuantizeOptions quantize = new QuantizeOptions();

  @Option(names = "--adapter", description = "PEFT adapter directory to apply over the model.")
  Path adapter;

  @Option(names = "--prompt", description = "Prompt text (tokenized with the model's tokenizer, special tokens added).")
  String prompt;

  @Option(names = "--prompt-ids", split = ",", description = "Prompt as token ids, for models without a tokenizer.")
  int[] promptIds;

  @Option(names = "--max-new-tokens", defaultValue = "64", description = "Default ${DEFAULT-VALUE}.")
  int maxNewTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default).")
  double temperature;

  @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = off (default).")
  int topK;

  @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass; 1 = off (default).")
  double topP;

  @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() throws Exception {
    if ((prompt == null) == (promptIds == null)) {
      throw new IllegalArgumentException("give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
    }
    Sampler sampler = new Sampler(temperature, topK, topP, seed);
    CausalLm lm = ModelLoading.load(model, adapter == null ? List.of() : List.of(adapter), quantize.settings()).values().iterator().next();
    PrintWriter out = spec.commandLine().getOut();
    if (promptIds != null) {
      int[] produced = Generator.generate(lm, promptIds, maxNewTokens, sampler, lm.config().eosTokenIds(), null);
      out.println(String.join(",", Arrays.stream(produced).mapToObj(Integer::toString).toList()));
      out.flush();
      return 0;
    }
    if (!Tokenizer.present(model)) {
      throw new IllegalArgumentException(model + " has no tokenizer.json; use --prompt-ids instead of --prompt");
    }
    try (Tokenizer tok = Tokenizer.load(model)) {
      int[] ids = tok.encode(prompt);
      int[] stop = IntStream.concat(Arrays.stream(tok.eosIds()), Arrays.stream(lm.config().eosTokenIds()))
          .distinct().toArray();
      StreamingDecoder stream = new StreamingDecoder(tok, out);
      Generator.generate(lm, ids, maxNewTokens, sampler, stop, stream::accept);
      out.println();
      out.flush();
    }
    return 0;
  }

  /**
   * Prints text as tokens arrive. Decoding the whole tail and printing the new suffix keeps
   * multi-byte characters split across tokens intact.
   */
  static final class StreamingDecoder {
    private final Tokenizer tok;
    private final PrintWriter out;
    private int[] ids = new int[0];
    private String printed = "";

    StreamingDecoder(Tokenizer tok, PrintWriter out) {
      this.tok = tok;
      this.out = out;
    }

    void accept(int id) {
      ids = Arrays.copyOf(ids, ids.length + 1);
      ids[ids.length - 1] = id;
      String text = tok.decode(ids, true);
      if (text.endsWith("\uFFFD")) return;
      if (text.startsWith(printed)) out.print(text.substring(printed.length()));
      else out.print(text);
      out.flush();
      printed = text;
    }
  }
}
