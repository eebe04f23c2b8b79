package io.laketune.gguf;

import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.nn.Param;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * Writes a model in memory as a GGUF file that llama.cpp loads: the architecture's hyperparameters,
 * the tokenizer of {@code tokenizerDir}, and every parameter under its GGUF name in llama.cpp's
 * layout (see {@link GgufArch}) and the requested {@link GgufDtype}.
 */
public final class GgufExport {
  private GgufExport() {}

  /** What was written: the file, its size, and how many tensors of each stored type. */
  public record Summary(Path file, long bytes, int tensors, Map<GgmlType, Integer> types) {
    public String describe() {
      StringBuilder s = new StringBuilder();
      types.forEach((t, n) -> s.append(s.length() == 0 ? "" : ", ").append(n).append(' ').append(t));
      return tensors + " tensors (" + s + "), " + bytes + " bytes";
    }
  }

  /**
   * @param tokenizerDir the HF directory whose tokenizer.json, tokenizer_config.json and config.json
   *     describe the vocabulary (the base model's directory)
   * @param name general.name
   */
  public static Summary model(CausalLm model, Path tokenizerDir, String name, GgufDtype dtype, Path out) throws IOException {
    ModelConfig cfg = model.config();
    GgufArch arch = GgufArch.of(cfg);
    GgufWriter w = new GgufWriter(arch.name);
    w.put(GgufKeys.TYPE, GgufValue.string(GgufKeys.TYPE_MODEL));
    if (name != null && !name.isEmpty()) w.put(GgufKeys.NAME, GgufValue.string(name));
    arch.putHyperparameters(w, dtype);
    w.put(GgufKeys.QUANTIZATION_VERSION, GgufValue.uint32(GgufKeys.GGML_QUANT_VERSION));
    GgufVocab.write(w, tokenizerDir, cfg.vocabSize(), arch.name);

    float[] ropeFactors = arch.ropeFreqFactors();
    if (ropeFactors != null) {
      w.addTensor("rope_freqs.weight", new long[] {ropeFactors.length}, GgmlType.F32,
          () -> TensorRows.of(ropeFactors, 1, ropeFactors.length));
    }
    for (Map.Entry<String, long[]> e : HfModels.parameterShapes(cfg).entrySet()) {
      String hf = e.getKey();
      Param p = model.params().get(hf);
      String gguf = GgufTensorNames.of(cfg.modelType(), hf);
      long[] shape = arch.ggufShape(hf, e.getValue());
      // value() may expand into a per-thread scratch buffer, so it is taken only when this tensor is written
      w.addTensor(gguf, shape, dtype.typeOf(gguf, shape), () -> TensorRows.of(arch.toGguf(hf, p.value())));
    }
    return write(w, out);
  }

  static Summary write(GgufWriter w, Path out) throws IOException {
    long bytes = w.write(out);
    Map<GgmlType, Integer> types = new EnumMap<>(GgmlType.class);
    for (String t : w.tensorNames()) types.merge(w.tensorType(t), 1, Integer::sum);
    return new Summary(out, bytes, w.tensorNames().size(), types);
  }
}
