package io.laketune.cli;

import io.laketune.io.DType;
import io.laketune.model.HfModels;
import io.laketune.peft.LoraModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code laketune export --model DIR --adapter DIR --merge --output DIR}: folds a LoRA adapter into
 * its base and writes a Hugging Face checkpoint that transformers loads, with the base's tokenizer
 * and generation files copied beside it.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Merge a PEFT adapter into its base model and write a Hugging Face checkpoint.")
public final class ExportCommand implements Callable<Integer> {
  static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "generation_config.json", "chat_template.jinja", "tokenizer.model");

  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, description = "Base HF checkpoint directory.")
  Path model;

  @Option(names = "--adapter", required = true, description = "PEFT adapter directory.")
  Path adapter;

  @Option(names = "--merge", required = true, description = "Merge the adapter into the base weights (required: the only export for now).")
  boolean merge;

  @Option(names = "--output", required = true, description = "New directory for the merged checkpoint.")
  Path output;

  @Option(names = "--dtype", defaultValue = "f32", description = "Stored type: f32 (default), bf16 or f16.")
  String dtype;

  @Option(names = "--max-shard-size", defaultValue = "5GB", description = "Shard the weights above this size (default ${DEFAULT-VALUE}).")
  String maxShardSize;

  @Override
  public Integer call() throws Exception {
    DType storeAs = switch (dtype.toLowerCase(Locale.ROOT)) {
      case "f32", "float32", "fp32" -> DType.F32;
      case "bf16", "bfloat16" -> DType.BF16;
      case "f16", "float16", "fp16" -> DType.F16;
      default -> throw new IllegalArgumentException("--dtype must be f32, bf16 or f16, got '" + dtype + "'");
    };
    long shard = parseSize(maxShardSize);
    if (Files.exists(output)) throw new IllegalArgumentException(output + " already exists; choose a new output directory");
    LoraModel lora = LoraModel.load(model, adapter, DataType.FLOAT);
    List<Path> side = new ArrayList<>();
    for (String f : SIDE_FILES) if (Files.isRegularFile(model.resolve(f))) side.add(model.resolve(f));
    HfModels.save(lora.mergedModel(), output, storeAs, shard, side);
    PrintWriter out = spec.commandLine().getOut();
    out.println("merged " + lora.targets().size() + " adapted modules of " + adapter + " into " + output);
    out.flush();
    return 0;
  }

  /** "5GB", "500MB", "1000000" (bytes), decimal units as transformers' max_shard_size. */
  static long parseSize(String s) {
    String t = s.trim().toUpperCase(Locale.ROOT);
    long unit = 1;
    for (String[] u : new String[][] {{"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
      if (t.endsWith(u[0])) {
        unit = Long.parseLong(u[1]);
        t = t.substring(0, t.length() - u[0].length()).trim();
        break;
      }
    }
    try {
      long v = (long) (Double.parseDouble(t) * unit);
      if (v <= 0) throw new NumberFormatException();
      return v;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--max-shard-size must be a size such as 5GB or 500MB, got '" + s + "'");
    }
  }
}
