package io.laketune.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Typed access to a HF {@code config.json}: every wrong type or out-of-range value is an error
 * naming the key and the file.
 */
final class ConfigReader {
  private final JsonNode root;
  private final String source;

  ConfigReader(JsonNode root, String source) {
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(source + " is not a JSON object");
    }
    this.root = root;
    this.source = source;
  }

  JsonNode root() {
    return root;
  }

  boolean has(String key) {
    return root.hasNonNull(key);
  }

  JsonNode node(String key) {
    return root.get(key);
  }

  IllegalArgumentException error(String key, String problem) {
    return new IllegalArgumentException(source + ": '" + key + "' " + problem);
  }

  int requireInt(String key) {
    if (!has(key)) throw error(key, "is missing; it is required for this model type");
    return intValue(key, root.get(key));
  }

  int optInt(String key, int fallback) {
    return has(key) ? intValue(key, root.get(key)) : fallback;
  }

  private int intValue(String key, JsonNode n) {
    if (!n.isIntegralNumber() || !n.canConvertToInt()) throw error(key, "must be an integer, got " + n);
    return n.intValue();
  }

  int requirePositive(String key) {
    int v = requireInt(key);
    if (v <= 0) throw error(key, "must be positive, got " + v);
    return v;
  }

  double optDouble(String key, double fallback) {
    if (!has(key)) return fallback;
    JsonNode n = root.get(key);
    if (!n.isNumber()) throw error(key, "must be a number, got " + n);
    return n.doubleValue();
  }

  boolean optBool(String key, boolean fallback) {
    if (!has(key)) return fallback;
    JsonNode n = root.get(key);
    if (!n.isBoolean()) throw error(key, "must be true or false, got " + n);
    return n.booleanValue();
  }

  String optString(String key, String fallback) {
    if (!has(key)) return fallback;
    JsonNode n = root.get(key);
    if (!n.isTextual()) throw error(key, "must be a string, got " + n);
    return n.textValue();
  }

  /** An int or a list of ints (eos_token_id takes both forms); empty when absent. */
  int[] optIntList(String key) {
    if (!has(key)) return new int[0];
    JsonNode n = root.get(key);
    if (n.isIntegralNumber()) return new int[] {n.intValue()};
    if (!n.isArray()) throw error(key, "must be an integer or a list of integers, got " + n);
    int[] out = new int[n.size()];
    for (int i = 0; i < out.length; i++) {
      if (!n.get(i).isIntegralNumber()) throw error(key, "must hold integers, got " + n);
      out[i] = n.get(i).intValue();
    }
    return out;
  }
}
