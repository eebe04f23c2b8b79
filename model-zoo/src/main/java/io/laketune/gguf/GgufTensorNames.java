package io.laketune.gguf;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hugging Face parameter names → GGUF tensor names, per model family, as llama.cpp's
 * tensor_mapping.py maps them (e.g. {@code model.layers.3.self_attn.q_proj.weight} →
 * {@code blk.3.attn_q.weight}). The suffix (.weight / .bias) is kept.
 */
public final class GgufTensorNames {
  private GgufTensorNames() {}

  /** The Llama family (llama, mistral, qwen2): top-level modules. */
  private static final Map<String, String> LLAMA_TOP = Map.of(
      "model.embed_tokens", "token_embd",
      "model.norm", "output_norm",
      "lm_head", "output");

  /** The Llama family: modules under model.layers.{i}. */
  private static final Map<String, String> LLAMA_BLOCK = Map.of(
      "input_layernorm", "attn_norm",
      "self_attn.q_proj", "attn_q",
      "self_attn.k_proj", "attn_k",
      "self_attn.v_proj", "attn_v",
      "self_attn.o_proj", "attn_output",
      "post_attention_layernorm", "ffn_norm",
      "mlp.gate_proj", "ffn_gate",
      "mlp.up_proj", "ffn_up",
      "mlp.down_proj", "ffn_down");

  private static final Map<String, String> GPT2_TOP = Map.of(
      "transformer.wte", "token_embd",
      "transformer.wpe", "position_embd",
      "transformer.ln_f", "output_norm");

  private static final Map<String, String> GPT2_BLOCK = Map.of(
      "ln_1", "attn_norm",
      "attn.c_attn", "attn_qkv",
      "attn.c_proj", "attn_output",
      "ln_2", "ffn_norm",
      "mlp.c_fc", "ffn_up",
      "mlp.c_proj", "ffn_down");

  private static final Pattern LLAMA_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
  private static final Pattern GPT2_LAYER = Pattern.compile("transformer\\.h\\.(\\d+)\\.(.+)");

  /**
   * The GGUF name of an HF parameter of a model of {@code modelType} (llama, mistral, qwen2, gpt2);
   * an unmapped name is an error naming it.
   */
  public static String of(String modelType, String hfName) {
    int dot = hfName.lastIndexOf('.');
    if (dot < 0) throw unknown(modelType, hfName);
    String module = hfName.substring(0, dot);
    String suffix = hfName.substring(dot);
    boolean gpt2 = modelType.equals("gpt2");
    Map<String, String> top = gpt2 ? GPT2_TOP : LLAMA_TOP;
    Map<String, String> block = gpt2 ? GPT2_BLOCK : LLAMA_BLOCK;
    String t = top.get(module);
    if (t != null) return t + suffix;
    Matcher m = (gpt2 ? GPT2_LAYER : LLAMA_LAYER).matcher(module);
    if (m.matches()) {
      String b = block.get(m.group(2));
      if (b != null) return "blk." + m.group(1) + "." + b + suffix;
    }
    throw unknown(modelType, hfName);
  }

  private static IllegalArgumentException unknown(String modelType, String hfName) {
    return new IllegalArgumentException("parameter '" + hfName + "' of this " + modelType
        + " model has no GGUF tensor name in llama.cpp's mapping");
  }
}
