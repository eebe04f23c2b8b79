package io.laketune.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the Hugging Face files beside tokenizer.json say, all optional: tokenizer_config.json
 * (special tokens, add_bos_token, clean_up_tokenization_spaces, chat_template),
 * special_tokens_map.json, generation_config.json (eos_token_id) and chat_template.jinja.
 *
 * <p>Precedence follows transformers' {@code from_pretrained}: special_tokens_map.json overrides
 * the special tokens of tokenizer_config.json, and chat_template.jinja overrides its default chat
 * template.
 *
 * @param specialTokens bos_token, eos_token, unk_token, pad_token (strings) and
 *     additional_special_tokens (a list of strings) where set; the variables transformers passes to
 *     a chat template as {@code **tokenizer.special_tokens_map}
 * @param addBosToken add_bos_token as written, if written
 * @param cleanUpTokenizationSpaces clean_up_tokenization_spaces, false when absent (the default
 *     of current transformers)
 * @param chatTemplates chat templates by name; a single template is named "default"
 * @param generationEosIds eos_token_id of generation_config.json, empty when absent
 */
record TokenizerConfig(
    Map<String, Object> specialTokens,
    Optional<Boolean> addBosToken,
    boolean cleanUpTokenizationSpaces,
    Map<String, String> chatTemplates,
    int[] generationEosIds) {

  static final String TOKENIZER_CONFIG = "tokenizer_config.json";
  static final String SPECIAL_TOKENS_MAP = "special_tokens_map.json";
  static final String GENERATION_CONFIG = "generation_config.json";
  static final String CHAT_TEMPLATE_FILE = "chat_template.jinja";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> TOKEN_KEYS =
      List.of("bos_token", "eos_token", "unk_token", "pad_token");

  static TokenizerConfig read(Path modelDir) throws IOException {
    JsonNode config = readJson(modelDir.resolve(TOKENIZER_CONFIG));
    JsonNode map = readJson(modelDir.resolve(SPECIAL_TOKENS_MAP));
    JsonNode generation = readJson(modelDir.resolve(GENERATION_CONFIG));

    Map<String, Object> special = new LinkedHashMap<>();
    for (String key : TOKEN_KEYS) {
      tokenContent(map, key, SPECIAL_TOKENS_MAP, modelDir)
          .or(() -> tokenContent(config, key, TOKENIZER_CONFIG, modelDir))
          .ifPresent(token -> special.put(key, token));
    }
    JsonNode additional =
        map.has("additional_special_tokens")
            ? map.get("additional_special_tokens")
            : config.get("additional_special_tokens");
    if (additional != null && additional.isArray()) {
      List<String> tokens = new ArrayList<>();
      for (JsonNode token : additional) {
        tokens.add(token.isObject() ? token.path("content").asText() : token.asText());
      }
      special.put("additional_special_tokens", List.copyOf(tokens));
    }

    JsonNode addBos = config.get("add_bos_token");
    Optional<Boolean> addBosToken =
        addBos != null && addBos.isBoolean() ? Optional.of(addBos.booleanValue()) : Optional.empty();
    boolean cleanUp = config.path("clean_up_tokenization_spaces").asBoolean(false);

    Map<String, String> templates = chatTemplates(config.get("chat_template"), modelDir);
    Path templateFile = modelDir.resolve(CHAT_TEMPLATE_FILE);
    if (Files.isRegularFile(templateFile)) {
      templates.put("default", Files.readString(templateFile, StandardCharsets.UTF_8));
    }
    return new TokenizerConfig(
        Collections.unmodifiableMap(special),
        addBosToken,
        cleanUp,
        Collections.unmodifiableMap(templates),
        eosIds(generation.get("eos_token_id"), modelDir));
  }

  /** The file as a JSON tree, or an empty object when the file does not exist. */
  private static JsonNode readJson(Path file) throws IOException {
    if (!Files.exists(file)) {
      return JSON.createObjectNode();
    }
    try {
      JsonNode node = JSON.readTree(file.toFile());
      if (node == null || !node.isObject()) {
        throw new IllegalArgumentException(
            file + " is not a JSON object; restore it from the model's original files.");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          file
              + " is not valid JSON ("
              + e.getOriginalMessage()
              + "); restore it from the model's original files.",
          e);
    }
  }

  /** A special token is written as a string, as an AddedToken object or as null. */
  private static Optional<String> tokenContent(
      JsonNode json, String key, String fileName, Path modelDir) {
    JsonNode value = json.get(key);
    if (value == null || value.isNull()) {
      return Optional.empty();
    }
    if (value.isTextual()) {
      return Optional.of(value.textValue());
    }
    if (value.isObject() && value.path("content").isTextual()) {
      return Optional.of(value.get("content").textValue());
    }
    throw new IllegalArgumentException(
        modelDir.resolve(fileName)
            + ": "
            + key
            + " must be a string or an object with a \"content\" string, not "
            + value
            + ".");
  }

  /** chat_template is one template, or a list of {"name": ..., "template": ...}. */
  private static Map<String, String> chatTemplates(JsonNode value, Path modelDir) {
    Map<String, String> templates = new LinkedHashMap<>();
    if (value == null || value.isNull()) {
      return templates;
    }
    if (value.isTextual()) {
      templates.put("default", value.textValue());
      return templates;
    }
    if (value.isArray()) {
      for (JsonNode entry : value) {
        if (!entry.path("name").isTextual() || !entry.path("template").isTextual()) {
          break;
        }
        templates.put(entry.get("name").textValue(), entry.get("template").textValue());
      }
      if (templates.size() == value.size()) {
        return templates;
      }
    }
    throw new IllegalArgumentException(
        modelDir.resolve(TOKENIZER_CONFIG)
            + ": chat_template must be a string or a list of {\"name\", \"template\"} objects.");
  }

  private static int[] eosIds(JsonNode value, Path modelDir) {
    if (value == null || value.isNull()) {
      return new int[0];
    }
    if (value.isInt()) {
      return new int[] {value.intValue()};
    }
    if (value.isArray()) {
      int[] ids = new int[value.size()];
      for (int i = 0; i < ids.length; i++) {
        if (!value.get(i).isInt()) {
          ids = null;
          break;
        }
        ids[i] = value.get(i).intValue();
      }
      if (ids != null) {
        return ids;
      }
    }
    throw new IllegalArgumentException(
        modelDir.resolve(GENERATION_CONFIG)
            + ": eos_token_id must be an integer or a list of integers, not "
            + value
            + ".");
  }
}
