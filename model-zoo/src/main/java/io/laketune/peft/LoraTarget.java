package io.laketune.peft;

import io.laketune.model.LinearModule;

/**
 * One adapted module: its rank and alpha after rank_pattern/alpha_pattern, and the scaling that
 * multiplies B A (alpha / r, or alpha / sqrt(r) for rsLoRA).
 */
public record LoraTarget(LinearModule module, int r, double alpha, double scaling) {

  public String aName() {
    return module.name() + ".lora_A.weight";
  }

  public String bName() {
    return module.name() + ".lora_B.weight";
  }

  /** DoRA's magnitude vector [out] (PEFT: {@code lora_magnitude_vector}). */
  public String magnitudeName() {
    return module.name() + ".lora_magnitude_vector";
  }
}
