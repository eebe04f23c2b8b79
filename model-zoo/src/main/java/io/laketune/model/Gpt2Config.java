package io.laketune.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * GPT-2: pre-norm decoder with LayerNorm, learned absolute positions, fused Conv1D q/k/v,
 * a gelu_new MLP and the lm_head tied to the token embedding.
 */
public record Gpt2Config(int vocabSize, int hiddenSize, int numLayers, int numHeads,
    int innerSize, int maxPositions, double layerNormEps, boolean scaleAttnWeights,
    int[] eosTokenIds, JsonNode json) implements ModelConfig {

  static Gpt2Config parse(ConfigReader c) {
    int hidden = c.requirePositive("n_embd");
    int heads = c.requirePositive("n_head");
    if (hidden % heads != 0) throw c.error("n_embd", "must be a multiple of n_head");
    String act = c.optString("activation_function", "gelu_new");
    if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh")) {
      throw c.error("activation_function", "'" + act + "' is not supported (gelu_new only)");
    }
    if (c.optBool("scale_attn_by_inverse_layer_idx", false)) {
      throw c.error("scale_attn_by_inverse_layer_idx", "true is not supported");
    }
    if (c.optBool("add_cross_attention", false)) {
      throw c.error("add_cross_attention", "true is not supported (decoder-only models)");
    }
    if (!c.optBool("tie_word_embeddings", true)) {
      throw c.error("tie_word_embeddings", "false is not supported for gpt2");
    }
    int inner = c.optInt("n_inner", 4 * hidden);
    return new Gpt2Config(c.requirePositive("vocab_size"), hidden, c.requirePositive("n_layer"),
        heads, inner, c.optInt("n_positions", 1024), c.optDouble("layer_norm_epsilon", 1e-5),
        c.optBool("scale_attn_weights", true), c.optIntList("eos_token_id"), c.root());
  }

  @Override
  public String modelType() {
    return "gpt2";
  }

  @Override
  public boolean tieWordEmbeddings() {
    return true;
  }

  public int headDim() {
    return hiddenSize / numHeads;
  }
}
