package io.laketune.quant;

import io.laketune.nn.Param;
import io.laketune.nn.ParamStore;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Quantises the frozen linear-layer weights of a loaded model to 4 bits, as QLoRA does with
 * transformers + bitsandbytes + PEFT, and reports what the frozen weights then occupy.
 *
 * <p>Which weights: those of linear layers — Llama-family {@code *_proj.weight} (q/k/v/o, gate/up/down)
 * and GPT-2 {@code c_attn/c_proj/c_fc.weight}. Never embeddings, norms, biases or lm_head: transformers
 * replaces every nn.Linear but the output head (get_keys_to_not_convert) and nothing else. GPT-2's
 * Conv1D weights are stored [in, out]; bitsandbytes quantises their transpose [out, in]
 * (quantizer_bnb_4bit.create_quantized_param), and so does this class, so saved files match.
 */
public final class ModelQuantizer {
  private ModelQuantizer() {}

  /**
   * How to quantise.
   *
   * @param type NF4 (QLoRA's choice) or FP4
   * @param blocksize weights per absmax, a power of two from 32 to 4096 (bitsandbytes' default: 64)
   * @param doubleQuant also quantise the absmax values to 8 bits (bnb_4bit_use_double_quant)
   */
  public record Settings(QuantType type, int blocksize, boolean doubleQuant) implements java.io.Serializable {
    /** NF4, blocksize 64, double quantisation: the QLoRA paper's setting. */
    public static Settings qlora() {
      return new Settings(QuantType.NF4, 64, true);
    }
  }

  /** Whether {@code name} is a linear-layer weight that 4-bit QLoRA quantises. */
  public static boolean isQuantizable(String name) {
    return name.endsWith("_proj.weight") || isConv1dWeight(name);
  }

  /** GPT-2's Conv1D weights, the only [in, out] linear weights of the supported model families. */
  public static boolean isConv1dWeight(String name) {
    return name.endsWith(".c_attn.weight") || name.endsWith(".c_proj.weight") || name.endsWith(".c_fc.weight");
  }

  /**
   * Packs every frozen, not yet packed, quantizable weight of {@code params} into a {@link
   * QuantizedTensor}, freeing its array. Returns the names packed, in model order.
   */
  public static List<String> quantizeFrozenLinears(ParamStore params, Settings settings) {
    List<String> done = new ArrayList<>();
    for (Param p : params.all().values()) {
      if (p.trainable() || p.packed() != null || !isQuantizable(p.name())) continue;
      boolean transposed = isConv1dWeight(p.name());
      INDArray w = transposed ? p.stored().transpose() : p.stored();
      QuantizedTensor q;
      try {
        q = QuantizedTensor.quantize(w, settings.type(), settings.blocksize(), settings.doubleQuant());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("cannot quantise '" + p.name() + "': " + e.getMessage(), e);
      }
      p.pack(q, transposed);
      done.add(p.name());
    }
    return done;
  }

  /** Bytes the frozen parameters keep resident (arrays as stored, packed tensors as encoded). */
  public static long frozenBytes(ParamStore params) {
    long bytes = 0;
    for (Param p : params.all().values()) {
      if (!p.trainable()) bytes += p.bytesResident();
    }
    return bytes;
  }

  /** Number of frozen parameter elements. */
  public static long frozenCount(ParamStore params) {
    long n = 0;
    for (Param p : params.all().values()) {
      if (!p.trainable()) n += p.length();
    }
    return n;
  }

  /** Resident bytes per frozen parameter element over the whole model (4 for fp32, 2 for bf16). */
  public static double bytesPerFrozenParameter(ParamStore params) {
    long n = frozenCount(params);
    return n == 0 ? 0 : (double) frozenBytes(params) / n;
  }
}
