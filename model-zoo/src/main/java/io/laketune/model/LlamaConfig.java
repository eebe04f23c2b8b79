package io.laketune.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The Llama family (Llama 2/3/3.x, Mistral, Qwen2, TinyLlama, SmolLM): pre-norm decoder with
 * RMSNorm, RoPE, grouped-query attention and a SwiGLU MLP. Defaults follow each family's HF config
 * class.
 *
 * @param qkvBias q/k/v projections have a bias (Llama attention_bias; always for Qwen2)
 * @param outputBias o_proj has a bias (Llama attention_bias; never for Qwen2)
 * @param slidingWindow keys further back than this are hidden; 0 = none (Mistral)
 */
public record LlamaConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize,
    int numLayers, int numHeads, int numKvHeads, int headDim, double rmsNormEps,
    RopeFrequencies rope, boolean tieWordEmbeddings, boolean qkvBias, boolean outputBias,
    boolean mlpBias, int slidingWindow, int maxPositionEmbeddings, int[] eosTokenIds,
    JsonNode json) implements ModelConfig {

  static LlamaConfig parse(ConfigReader c, String type) {
    int hidden = c.requirePositive("hidden_size");
    int heads = c.requirePositive("num_attention_heads");
    int kvHeads = c.optInt("num_key_value_heads", heads);
    if (kvHeads <= 0 || heads % kvHeads != 0) {
      throw c.error("num_key_value_heads", "must divide num_attention_heads (" + heads + "), got " + kvHeads);
    }
    int headDim = c.optInt("head_dim", 0);
    if (headDim == 0) {
      if (hidden % heads != 0) throw c.error("hidden_size", "must be a multiple of num_attention_heads");
      headDim = hidden / heads;
    }
    if (headDim % 2 != 0) throw c.error("head_dim", "must be even for rotary embeddings, got " + headDim);
    String act = c.optString("hidden_act", "silu");
    if (!act.equals("silu")) throw c.error("hidden_act", "'" + act + "' is not supported (only silu)");
    boolean qkvBias;
    boolean outBias;
    int window = 0;
    switch (type) {
      case "qwen2" -> {
        qkvBias = true;
        outBias = false;
        if (c.optBool("use_sliding_window", false)) {
          throw c.error("use_sliding_window", "true is not supported for qwen2");
        }
      }
      case "mistral" -> {
        qkvBias = false;
        outBias = false;
        window = c.optInt("sliding_window", 0);
      }
      default -> {
        qkvBias = c.optBool("attention_bias", false);
        outBias = qkvBias;
      }
    }
    if (window < 0) throw c.error("sliding_window", "must be positive or null, got " + window);
    boolean mlpBias = !type.equals("qwen2") && !type.equals("mistral") && c.optBool("mlp_bias", false);
    return new LlamaConfig(type, c.requirePositive("vocab_size"), hidden,
        c.requirePositive("intermediate_size"), c.requirePositive("num_hidden_layers"), heads,
        kvHeads, headDim, c.optDouble("rms_norm_eps", 1e-6), RopeFrequencies.fromConfig(c, headDim),
        c.optBool("tie_word_embeddings", false), qkvBias, outBias, mlpBias, window,
        c.optInt("max_position_embeddings", 2048), c.optIntList("eos_token_id"), c.root());
  }

  @Override
  public int numLayers() {
    return numLayers;
  }
}
