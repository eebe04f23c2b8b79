package io.laketune.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;

/** A parsed HF {@code config.json} of a supported model family. */
public sealed interface ModelConfig permits LlamaConfig, Gpt2Config {

  Set<String> LLAMA_FAMILY = Set.of("llama", "mistral", "qwen2");

  String modelType();

  int vocabSize();

  int hiddenSize();

  int numLayers();

  boolean tieWordEmbeddings();

  /** Ids that end generation (eos_token_id, an int or a list). */
  int[] eosTokenIds();

  /** The original JSON, for saving the checkpoint back unchanged. */
  JsonNode json();

  /**
   * Parses a config of a supported {@code model_type}; anything that would change the math and is
   * not implemented is an error naming the key, never a silently different model.
   *
   * @param source the file name, for messages
   */
  static ModelConfig parse(JsonNode json, String source) {
    ConfigReader c = new ConfigReader(json, source);
    String type = c.optString("model_type", null);
    if (type == null) throw c.error("model_type", "is missing");
    if (LLAMA_FAMILY.contains(type)) return LlamaConfig.parse(c, type);
    if (type.equals("gpt2")) return Gpt2Config.parse(c);
    throw c.error("model_type", "'" + type
        + "' is not supported (supported: llama, mistral, qwen2, gpt2)");
  }
}
