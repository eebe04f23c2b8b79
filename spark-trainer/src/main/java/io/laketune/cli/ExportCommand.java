package io.laketune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.gguf.GgufDtype;
import io.laketune.gguf.GgufExport;
import io.laketune.gguf.GgufLoraExport;
import io.laketune.io.DType;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.peft.LoraModel;
import io.laketune.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 * {@code laketune export}: writes a model where other tools read it.
 *
 * <ul>
 *   <li>{@code --format hf} (default) {@code --model DIR --adapter DIR --merge --output DIR}: folds a
 *       LoRA adapter into its base and writes a Hugging Face checkpoint that transformers loads,
 *       with the base's tokenizer and generation files copied beside it.
 *   <li>{@code --format gguf --model DIR [--adapter DIR --merge] --output FILE.gguf}: a GGUF model
 *       for llama.cpp (the base, or the base with the adapter merged), tokenizer and chat template
 *       included.
 *   <li>{@code --format gguf-lora --model DIR --adapter DIR --output FILE.gguf}: the adapter alone
 *       as a GGUF LoRA adapter, applied by llama.cpp's {@code --lora} over the base's GGUF.
 * </ul>
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Write a merged Hugging Face checkpoint, a GGUF model or a GGUF LoRA adapter.")
public final class ExportCommand implements Callable<Integer> {
  static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "generation_config.json", "chat_template.jinja", "tokenizer.model");

  @Spec CommandSpec spec;

  @Option(names = "--format", defaultValue = "hf", description = "hf (default): merged HF checkpoint; gguf: GGUF model for llama.cpp; gguf-lora: GGUF LoRA adapter.")
  String format;

  @Option(names = "--model", required = true, description = "Base HF checkpoint directory.")
  Path model;

  @Option(names = "--adapter", description = "PEFT adapter directory.")
  Path adapter;

  @Option(names = "--merge", description = "Merge the adapter into the base weights (hf, and gguf with --adapter).")
  boolean merge;

  @Option(names = "--output", required = true, description = "New directory (hf) or .gguf file (gguf, gguf-lora).")
  Path output;

  @Option(names = "--dtype", defaultValue = "f32", description = "Stored type: f32 (default), bf16 or f16; for GGUF also q8_0.")
  String dtype;

  @Option(names = "--max-shard-size", defaultValue = "5GB", description = "Shard the weights above this size (hf; default ${DEFAULT-VALUE}).")
  String maxShardSize;

  @Override
  public Integer call() throws Exception {
    String f = format.toLowerCase(Locale.ROOT);
    switch (f) {
      case "hf" -> exportHf();
      case "gguf" -> exportGguf();
      case "gguf-lora" -> exportGgufLora();
      default -> throw new IllegalArgumentException("--format must be hf, gguf or gguf-lora, got '" + format + "'");
    }
    return 0;
  }

  private void exportHf() throws Exception {
    if (adapter == null || !merge) {
      throw new IllegalArgumentException("--format hf needs --adapter DIR --merge (it writes the merged checkpoint)");
    }
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
    for (String file : SIDE_FILES) if (Files.isRegularFile(model.resolve(file))) side.add(model.resolve(file));
    HfModels.save(lora.mergedModel(), output, storeAs, shard, side);
    say("merged " + lora.targets().size() + " adapted modules of " + adapter + " into " + output);
  }

  private void exportGguf() throws Exception {
    GgufDtype type = GgufDtype.parse(dtype);
    checkGgufOutput();
    if (adapter != null && !merge) {
      throw new IllegalArgumentException("--format gguf with --adapter needs --merge (or write the adapter itself with --format gguf-lora)");
    }
    if (merge && adapter == null) throw new IllegalArgumentException("--merge needs --adapter DIR");
    if (!Tokenizer.present(model)) {
      // llama.cpp aborts when it tokenizes with a GGUF that has no vocabulary
      throw new IllegalArgumentException(model + " has no tokenizer.json, and llama.cpp needs the vocabulary inside the GGUF;"
          + " copy the base model's tokenizer files into " + model);
    }
    long t0 = System.nanoTime();
    CausalLm m;
    String what;
    if (adapter != null) {
      LoraModel lora = LoraModel.load(model, adapter, DataType.FLOAT);
      m = lora.mergedModel();
      what = model + " with " + lora.targets().size() + " adapted modules of " + adapter + " merged";
    } else {
      m = HfModels.load(model, HfModels.Options.inference());
      what = model.toString();
    }
    GgufExport.Summary s = GgufExport.model(m, model, name(model), type, output);
    say("wrote " + output + ": " + what + " as GGUF " + type.name().toLowerCase(Locale.ROOT) + ", " + s.describe()
        + String.format(Locale.ROOT, " in %.2f s", (System.nanoTime() - t0) / 1e9));
  }

  private void exportGgufLora() throws Exception {
    GgufDtype type = GgufDtype.parse(dtype);
    checkGgufOutput();
    if (adapter == null) throw new IllegalArgumentException("--format gguf-lora needs --adapter DIR");
    if (merge) throw new IllegalArgumentException("--format gguf-lora writes the adapter itself; drop --merge, or use --format gguf --merge for a merged model");
    Path config = model.resolve("config.json");
    if (!Files.isRegularFile(config)) throw new NoSuchFileException(config.toString(), null, "the base model's config.json is missing");
    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(config.toFile()), config.toString());
    long t0 = System.nanoTime();
    GgufExport.Summary s = GgufLoraExport.adapter(cfg, adapter, name(adapter), type, output);
    say("wrote " + output + ": LoRA adapter " + adapter + " for " + cfg.modelType() + " as GGUF "
        + type.name().toLowerCase(Locale.ROOT) + ", " + s.describe()
        + String.format(Locale.ROOT, " in %.2f s", (System.nanoTime() - t0) / 1e9));
  }

  private void checkGgufOutput() {
    if (Files.exists(output)) throw new IllegalArgumentException(output + " already exists; choose a new output file");
    if (!output.getFileName().toString().endsWith(".gguf")) {
      throw new IllegalArgumentException("--output for GGUF must be a file name ending in .gguf, got " + output);
    }
  }

  private static String name(Path dir) {
    Path n = dir.toAbsolutePath().normalize().getFileName();
    return n == null ? "" : n.toString();
  }

  private void say(String line) {
    PrintWriter out = spec.commandLine().getOut();
    out.println(line);
    out.flush();
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
