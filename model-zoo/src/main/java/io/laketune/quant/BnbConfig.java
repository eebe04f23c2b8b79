package io.laketune.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * The {@code quantization_config} object of a Hugging Face config.json for bitsandbytes 4-bit models
 * (transformers' BitsAndBytesConfig.to_dict()): checked when a checkpoint is loaded, written when a
 * model with 4-bit weights is saved.
 *
 * <p>Which weights are 4-bit is read from the checkpoint itself (each has a
 * {@code .quant_state.bitsandbytes__<type>} key), as transformers does; the config only has to say that
 * the checkpoint is bitsandbytes 4-bit with bytes stored as uint8.
 */
public final class BnbConfig {
  /** The config.json key. */
  public static final String KEY = "quantization_config";

  private BnbConfig() {}

  /**
   * False when {@code config} has no quantization_config; true when it describes bitsandbytes 4-bit
   * with uint8 storage; otherwise an IOException naming the offending key of {@code configFile}.
   */
  public static boolean isBnb4bit(JsonNode config, String configFile) throws IOException {
    JsonNode q = config.get(KEY);
    if (q == null || q.isNull()) return false;
    if (!q.isObject()) throw new IOException(configFile + ": '" + KEY + "' must be a JSON object, got " + q);
    JsonNode method = q.get("quant_method");
    boolean legacy = method == null && q.has("load_in_4bit");
    if (!legacy && (method == null || !"bitsandbytes".equals(method.asText()))) {
      throw new IOException(configFile + ": " + KEY + ".quant_method is " + method + "; laketune reads"
          + " bitsandbytes 4-bit checkpoints (quant_method \"bitsandbytes\", load_in_4bit true) and plain"
          + " float16/bfloat16/float32 ones, so dequantise this model or use one of those.");
    }
    if (q.path("load_in_8bit").asBoolean(false)) {
      throw new IOException(configFile + ": " + KEY + ".load_in_8bit is true; laketune reads bitsandbytes"
          + " 4-bit (load_in_4bit) checkpoints, not LLM.int8 ones, so use a 4-bit or an unquantised checkpoint.");
    }
    if (!q.path("load_in_4bit").asBoolean(false)) {
      throw new IOException(configFile + ": " + KEY + ".load_in_4bit is not true; laketune reads bitsandbytes"
          + " 4-bit checkpoints only, so use a 4-bit or an unquantised checkpoint.");
    }
    JsonNode storage = q.get("bnb_4bit_quant_storage");
    if (storage != null && !storage.isNull() && !"uint8".equals(storage.asText())) {
      throw new IOException(configFile + ": " + KEY + ".bnb_4bit_quant_storage is " + storage + "; laketune"
          + " reads 4-bit weights packed as uint8 (the default), so re-save with bnb_4bit_quant_storage=uint8.");
    }
    return true;
  }

  /**
   * The quantization_config for a model whose 4-bit weights are of {@code type}: {@code previous}
   * (when it is a bitsandbytes one) with the type and double quantisation set, else transformers'
   * defaults with float32 compute.
   */
  public static ObjectNode build(QuantType type, boolean doubleQuant, JsonNode previous) {
    ObjectNode q;
    if (previous != null && previous.isObject() && "bitsandbytes".equals(previous.path("quant_method").asText())) {
      q = ((ObjectNode) previous).deepCopy();
    } else {
      q = JsonNodeFactory.instance.objectNode();
      q.put("_load_in_4bit", true);
      q.put("_load_in_8bit", false);
      q.put("bnb_4bit_compute_dtype", "float32");
      q.put("bnb_4bit_quant_storage", "uint8");
      q.put("bnb_4bit_quant_type", type.bnbName());
      q.put("bnb_4bit_use_double_quant", doubleQuant);
      q.put("llm_int8_enable_fp32_cpu_offload", false);
      q.put("llm_int8_has_fp16_weight", false);
      q.putNull("llm_int8_skip_modules");
      q.put("llm_int8_threshold", 6.0);
      q.put("load_in_4bit", true);
      q.put("load_in_8bit", false);
      q.put("quant_method", "bitsandbytes");
    }
    q.put("bnb_4bit_quant_type", type.bnbName());
    q.put("bnb_4bit_use_double_quant", doubleQuant);
    return q;
  }
}
