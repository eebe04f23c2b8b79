package io.laketune.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * RoPE inverse frequencies from a HF config: the default schedule
 * inv_freq[i] = 1 / theta^(2i/D), and the {@code linear} and {@code llama3} scalings of
 * transformers' modeling_rope_utils. Computed in fp32 arithmetic as HF does (its tensors are fp32).
 * Any other scaling type changes the math and is rejected by name.
 */
public record RopeFrequencies(float[] invFreq, double attentionScaling) {

  /** Reads {@code rope_scaling} (or v5's {@code rope_parameters}) and {@code rope_theta}. */
  static RopeFrequencies fromConfig(ConfigReader c, int headDim) {
    JsonNode params = c.has("rope_parameters") ? c.node("rope_parameters") : c.node("rope_scaling");
    double theta = c.optDouble("rope_theta", 10000.0);
    String type = "default";
    if (params != null && !params.isNull()) {
      if (!params.isObject()) throw c.error("rope_scaling", "must be an object or null");
      if (params.hasNonNull("rope_theta")) theta = params.get("rope_theta").doubleValue();
      JsonNode t = params.hasNonNull("rope_type") ? params.get("rope_type") : params.get("type");
      if (t != null && !t.isNull()) type = t.asText();
      if (params.hasNonNull("partial_rotary_factor")
          && params.get("partial_rotary_factor").doubleValue() != 1.0) {
        throw c.error("rope_scaling.partial_rotary_factor", "other than 1.0 is not supported");
      }
    }
    float[] inv = defaultInvFreq(headDim, theta);
    switch (type) {
      case "default":
        return new RopeFrequencies(inv, 1.0);
      case "linear": {
        float factor = (float) required(c, params, "factor");
        for (int i = 0; i < inv.length; i++) inv[i] = inv[i] / factor;
        return new RopeFrequencies(inv, 1.0);
      }
      case "llama3":
        return new RopeFrequencies(llama3(inv, (float) required(c, params, "factor"),
            (float) required(c, params, "low_freq_factor"),
            (float) required(c, params, "high_freq_factor"),
            (float) required(c, params, "original_max_position_embeddings")), 1.0);
      default:
        throw c.error("rope_scaling", "type '" + type
            + "' is not supported (supported: default, linear, llama3)");
    }
  }

  private static double required(ConfigReader c, JsonNode params, String key) {
    JsonNode n = params.get(key);
    if (n == null || !n.isNumber()) throw c.error("rope_scaling." + key, "is missing or not a number");
    return n.doubleValue();
  }

  /** 1 / theta^(2i/D) for i < D/2: the exponent and the power in fp32 like torch. */
  static float[] defaultInvFreq(int headDim, double theta) {
    float[] inv = new float[headDim / 2];
    for (int i = 0; i < inv.length; i++) {
      float exponent = (float) (2 * i) / (float) headDim;
      float pow = (float) Math.pow(theta, exponent);
      inv[i] = 1.0f / pow;
    }
    return inv;
  }

  /**
   * Llama 3.1 scaling: wavelengths longer than original/low are slowed by {@code factor}, shorter
   * than original/high kept, and the band between interpolated smoothly.
   */
  static float[] llama3(float[] inv, float factor, float low, float high, float original) {
    float lowWavelen = original / low;
    float highWavelen = original / high;
    float[] out = new float[inv.length];
    for (int i = 0; i < inv.length; i++) {
      float wavelen = (float) (2 * Math.PI) / inv[i];
      float scaled = wavelen > lowWavelen ? inv[i] / factor : inv[i];
      boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
      if (medium) {
        float smooth = (original / wavelen - low) / (high - low);
        scaled = (1 - smooth) * scaled / factor + smooth * scaled;
      }
      out[i] = scaled;
    }
    return out;
  }
}
