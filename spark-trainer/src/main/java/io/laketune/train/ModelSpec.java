package io.laketune.train;

import io.laketune.peft.LoraConfig;
import io.laketune.quant.ModelQuantizer;
import java.io.Serializable;

/**
 * What a worker needs to build its model replica: the base checkpoint, how it is stored and what
 * is trained. Shipped in every round's closure; its {@link #key} names the JVM-wide cache entry.
 */
public record ModelSpec(String model, TrainConfig.Method method, String loraJson, ModelQuantizer.Settings quantize,
    boolean frozenBf16, boolean activationCheckpointing) implements Serializable {

  static ModelSpec of(TrainConfig c) {
    return new ModelSpec(c.model(), c.method(), c.lora() == null ? null : c.lora().toJson().toString(), c.quantize(),
        c.frozenBf16(), c.activationCheckpointing());
  }

  /** The frozen base, shared by every replica of a JVM, depends on this. */
  String baseKey() {
    return model + "|" + method + "|" + quantize + "|" + frozenBf16;
  }

  String key() {
    return baseKey() + "|" + loraJson + "|" + activationCheckpointing;
  }

  LoraConfig lora() {
    try {
      return loraJson == null ? null
          : LoraConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().readTree(loraJson), "lora config");
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
