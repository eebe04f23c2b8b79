package io.laketune.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.model.Gpt2Config;
import io.laketune.model.LlamaConfig;
import io.laketune.model.ModelConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How a laketune model family becomes a llama.cpp architecture, as llama.cpp's converter does it
 * (convert_hf_to_gguf.py: LlamaModel, Qwen2Model, GPT2Model):
 *
 * <ul>
 *   <li>llama and mistral → {@code llama}. llama.cpp's Llama graph applies RoPE to adjacent pairs
 *       (x0, x1), (x2, x3), ...; HF's checkpoints rotate halves (x_i, x_{i+D/2}). The converter
 *       therefore reorders the rows of q_proj and k_proj (and their biases) within each head:
 *       HF row h*D + s*D/2 + j becomes row h*D + 2j + s (s = 0, 1; j < D/2). Llama 3.1's
 *       {@code rope_scaling} type llama3 becomes a {@code rope_freqs} tensor of per-frequency
 *       divisors; type linear becomes rope.scaling.type/factor.
 *   <li>qwen2 → {@code qwen2}, whose graph rotates halves like HF: no reordering.
 *   <li>gpt2 → {@code gpt2}; its Conv1D weights are stored [in, out] and are transposed to the
 *       [out, in] of every other weight.
 * </ul>
 */
final class GgufArch {
  final ModelConfig cfg;
  final String name;

  private GgufArch(ModelConfig cfg, String name) {
    this.cfg = cfg;
    this.name = name;
  }

  /** The llama.cpp architecture of a model; a configuration llama.cpp would run differently is refused. */
  static GgufArch of(ModelConfig cfg) {
    if (cfg instanceof Gpt2Config g) {
      if (!g.scaleAttnWeights()) throw refuse("gpt2", "scale_attn_weights = false (llama.cpp always scales attention by 1/sqrt(head_dim))");
      return new GgufArch(cfg, "gpt2");
    }
    LlamaConfig l = (LlamaConfig) cfg;
    String type = rope(l).path("rope_type").asText(rope(l).path("type").asText("default"));
    if (l.modelType().equals("qwen2")) {
      if ((long) l.headDim() * l.numHeads() != l.hiddenSize()) {
        throw refuse("qwen2", "head_dim * num_attention_heads != hidden_size (llama.cpp's qwen2 graph assumes they are equal)");
      }
      if (type.equals("llama3")) throw refuse("qwen2", "rope_scaling type llama3 (llama.cpp's qwen2 graph has no rope_freqs)");
      return new GgufArch(cfg, "qwen2");
    }
    return new GgufArch(cfg, "llama");
  }

  private static IllegalArgumentException refuse(String type, String what) {
    return new IllegalArgumentException("this " + type + " model has " + what + ", so it cannot be exported to GGUF");
  }

  /** rope_parameters (transformers v5) or rope_scaling, or an empty node. */
  private static JsonNode rope(LlamaConfig l) {
    JsonNode json = l.json();
    JsonNode r = json.hasNonNull("rope_parameters") ? json.get("rope_parameters") : json.get("rope_scaling");
    return r == null || r.isNull() ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : r;
  }

  private static double ropeTheta(LlamaConfig l) {
    JsonNode r = rope(l);
    if (r.hasNonNull("rope_theta")) return r.get("rope_theta").doubleValue();
    return l.json().path("rope_theta").asDouble(10000.0);
  }

  /** The architecture's hyperparameters, as the converter's set_gguf_parameters writes them. */
  void putHyperparameters(GgufWriter w, GgufDtype dtype) {
    if (cfg instanceof Gpt2Config g) {
      w.put(key(GgufKeys.BLOCK_COUNT), GgufValue.uint32(g.numLayers()));
      w.put(key(GgufKeys.CONTEXT_LENGTH), GgufValue.uint32(g.maxPositions()));
      w.put(key(GgufKeys.EMBEDDING_LENGTH), GgufValue.uint32(g.hiddenSize()));
      w.put(key(GgufKeys.FEED_FORWARD_LENGTH), GgufValue.uint32(g.innerSize()));
      w.put(key(GgufKeys.HEAD_COUNT), GgufValue.uint32(g.numHeads()));
      w.put(key(GgufKeys.LAYERNORM_EPS), GgufValue.float32(g.layerNormEps()));
      w.put(GgufKeys.FILE_TYPE, GgufValue.uint32(dtype.fileType()));
      return;
    }
    LlamaConfig l = (LlamaConfig) cfg;
    w.put(key(GgufKeys.BLOCK_COUNT), GgufValue.uint32(l.numLayers()));
    w.put(key(GgufKeys.CONTEXT_LENGTH), GgufValue.uint32(l.maxPositionEmbeddings()));
    w.put(key(GgufKeys.EMBEDDING_LENGTH), GgufValue.uint32(l.hiddenSize()));
    w.put(key(GgufKeys.FEED_FORWARD_LENGTH), GgufValue.uint32(l.intermediateSize()));
    w.put(key(GgufKeys.HEAD_COUNT), GgufValue.uint32(l.numHeads()));
    w.put(key(GgufKeys.HEAD_COUNT_KV), GgufValue.uint32(l.numKvHeads()));
    String type = rope(l).path("rope_type").asText(rope(l).path("type").asText("default"));
    if (type.equals("linear")) {
      w.put(key(GgufKeys.ROPE_SCALING_TYPE), GgufValue.string("linear"));
      w.put(key(GgufKeys.ROPE_SCALING_FACTOR), GgufValue.float32(rope(l).path("factor").asDouble()));
    }
    w.put(key(GgufKeys.ROPE_FREQ_BASE), GgufValue.float32(ropeTheta(l)));
    w.put(key(GgufKeys.LAYERNORM_RMS_EPS), GgufValue.float32(l.rmsNormEps()));
    if (l.json().hasNonNull("head_dim") || (long) l.headDim() * l.numHeads() != l.hiddenSize()) {
      w.put(key(GgufKeys.KEY_LENGTH), GgufValue.uint32(l.headDim()));
      w.put(key(GgufKeys.VALUE_LENGTH), GgufValue.uint32(l.headDim()));
    }
    w.put(GgufKeys.FILE_TYPE, GgufValue.uint32(dtype.fileType()));
    if (name.equals("llama")) {
      w.put(key(GgufKeys.VOCAB_SIZE), GgufValue.uint32(l.vocabSize()));
      w.put(key(GgufKeys.ROPE_DIMENSION_COUNT), GgufValue.uint32(l.headDim()));
    }
  }

  String key(String k) {
    return GgufKeys.arch(name, k);
  }

  /**
   * Llama 3.1 RoPE as llama.cpp's rope_freqs: per frequency i (D/2 of them), the divisor of
   * theta^(-2i/D) — 1 for short wavelengths, {@code factor} for long ones, 1 / ((1 - s) / factor +
   * s) between, with s = (original / wavelength - low) / (high - low). Null when the model has no
   * llama3 scaling.
   */
  float[] ropeFreqFactors() {
    if (!(cfg instanceof LlamaConfig l) || !name.equals("llama")) return null;
    JsonNode r = rope(l);
    if (!r.path("rope_type").asText(r.path("type").asText("")).equals("llama3")) return null;
    double factor = r.path("factor").asDouble(8.0);
    double low = r.path("low_freq_factor").asDouble(1.0);
    double high = r.path("high_freq_factor").asDouble(4.0);
    double original = r.path("original_max_position_embeddings").asDouble(8192);
    double lowWavelen = original / low;
    double highWavelen = original / high;
    int d = l.headDim();
    double base = ropeTheta(l);
    float[] out = new float[d / 2];
    for (int i = 0; i < out.length; i++) {
      // theta^(-2i/D) in fp32, as torch computes the frequencies
      float freq = (float) (1.0 / Math.pow(base, (float) (2 * i) / (float) d));
      double wavelen = 2 * Math.PI / freq;
      if (wavelen < highWavelen) {
        out[i] = 1f;
      } else if (wavelen > lowWavelen) {
        out[i] = (float) factor;
      } else {
        double smooth = (original / wavelen - low) / (high - low);
        out[i] = (float) (1 / ((1 - smooth) / factor + smooth));
      }
    }
    return out;
  }

  /** Heads whose q/k rows are reordered for this parameter, or 0 when it is stored as is. */
  int ropeHeads(String hfName) {
    if (!name.equals("llama")) return 0;
    LlamaConfig l = (LlamaConfig) cfg;
    if (hfName.endsWith(".self_attn.q_proj.weight") || hfName.endsWith(".self_attn.q_proj.bias")) return l.numHeads();
    if (hfName.endsWith(".self_attn.k_proj.weight") || hfName.endsWith(".self_attn.k_proj.bias")) return l.numKvHeads();
    return 0;
  }

  /** Whether a GPT-2 weight is a Conv1D [in, out] that GGUF stores transposed. */
  boolean transposed(String hfName) {
    return name.equals("gpt2") && hfName.endsWith(".weight")
        && (hfName.contains(".attn.c_attn.") || hfName.contains(".attn.c_proj.") || hfName.contains(".mlp.c_fc.")
            || hfName.contains(".mlp.c_proj."));
  }

  /** A parameter's value in GGUF's layout (a new array when reordered or transposed). */
  INDArray toGguf(String hfName, INDArray value) {
    int heads = ropeHeads(hfName);
    if (heads > 0) return interleaveRopeRows(value, heads);
    if (transposed(hfName)) return value.transpose().dup('c');
    return value;
  }

  /** The GGUF shape of a parameter of HF shape {@code shape}. */
  long[] ggufShape(String hfName, long[] shape) {
    return transposed(hfName) ? new long[] {shape[1], shape[0]} : shape.clone();
  }

  /**
   * Rows of a [heads * D, ...] tensor (or elements of a [heads * D] bias) reordered from HF's
   * rotate-half layout to llama.cpp's adjacent pairs: [h, s, j, :] → [h, j, s, :].
   */
  static INDArray interleaveRopeRows(INDArray w, int heads) {
    long out = w.size(0);
    long half = out / heads / 2;
    if (half * 2 * heads != out) throw new IllegalArgumentException("rows " + out + " are not " + heads + " heads of even size");
    INDArray c = w.dup('c');
    // explicit shape arrays: reshape('c', n) would resolve to reshape(long rows, long cols)
    if (w.rank() == 1) {
      return c.reshape('c', new long[] {heads, 2, half}).permute(0, 2, 1).dup('c').reshape('c', new long[] {out});
    }
    long cols = w.size(1);
    return c.reshape('c', new long[] {heads, 2, half, cols}).permute(0, 2, 1, 3).dup('c').reshape('c', new long[] {out, cols});
  }
}
