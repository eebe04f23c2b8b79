package io.laketune.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A LoRA adapter's settings with PEFT's meaning and {@code adapter_config.json} field names.
 *
 * @param targetModules names (a module matches when its name equals one or ends with "." + one),
 *     or, when {@code targetRegex} is set, ignored in favour of a full-match regular expression;
 *     {@code all-linear} = every linear module but the output head
 * @param bias "none", "lora_only" (biases of targeted modules trained) or "all" (every bias)
 * @param init "true" (A kaiming-uniform, B zero), "gaussian" (A ~ N(0, 1/r)), "pissa", or "false"
 * @param rankPattern / alphaPattern per-module overrides, keys matched as PEFT does (a regex that
 *     must match the end of the module name)
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targetModules,
    String targetRegex, String bias, boolean useRslora, boolean useDora, String init,
    boolean fanInFanOut, List<String> modulesToSave, Map<String, Integer> rankPattern,
    Map<String, Double> alphaPattern, List<Integer> layersToTransform, String baseModel) implements java.io.Serializable {

  public static final String ALL_LINEAR = "all-linear";

  public LoraConfig {
    if (r <= 0) throw new IllegalArgumentException("LoRA r must be positive, got " + r);
    if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
    if (!Set.of("none", "lora_only", "all").contains(bias)) {
      throw new IllegalArgumentException("bias must be none, lora_only or all, got '" + bias + "'");
    }
    if (!Set.of("true", "false", "gaussian", "pissa").contains(init)) {
      throw new IllegalArgumentException("init_lora_weights '" + init
          + "' is not supported (supported: true, false, gaussian, pissa)");
    }
    if (targetModules.isEmpty() && targetRegex == null) {
      throw new IllegalArgumentException("target_modules is empty: name the modules to adapt, a regex, or all-linear");
    }
    targetModules = List.copyOf(targetModules);
    modulesToSave = List.copyOf(modulesToSave);
    rankPattern = Map.copyOf(rankPattern);
    alphaPattern = Map.copyOf(alphaPattern);
    layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
  }

  /** A plain LoRA on the given modules with PEFT's defaults otherwise. */
  public static LoraConfig of(int r, double alpha, List<String> targets) {
    return new LoraConfig(r, alpha, 0.0, targets, null, "none", false, false, "true", false,
        List.of(), Map.of(), Map.of(), null, null);
  }

  public LoraConfig withTargetRegex(String regex) {
    return new LoraConfig(r, alpha, dropout, List.of(), regex, bias, useRslora, useDora, init,
        fanInFanOut, modulesToSave, rankPattern, alphaPattern, layersToTransform, baseModel);
  }

  public LoraConfig with(boolean rslora, boolean dora, String initMode) {
    return new LoraConfig(r, alpha, dropout, targetModules, targetRegex, bias, rslora, dora, initMode,
        fanInFanOut, modulesToSave, rankPattern, alphaPattern, layersToTransform, baseModel);
  }

  public LoraConfig withBias(String biasMode) {
    return new LoraConfig(r, alpha, dropout, targetModules, targetRegex, biasMode, useRslora, useDora,
        init, fanInFanOut, modulesToSave, rankPattern, alphaPattern, layersToTransform, baseModel);
  }

  public LoraConfig withModulesToSave(List<String> modules) {
    return new LoraConfig(r, alpha, dropout, targetModules, targetRegex, bias, useRslora, useDora, init,
        fanInFanOut, modules, rankPattern, alphaPattern, layersToTransform, baseModel);
  }

  public LoraConfig withPatterns(Map<String, Integer> ranks, Map<String, Double> alphas) {
    return new LoraConfig(r, alpha, dropout, targetModules, targetRegex, bias, useRslora, useDora, init,
        fanInFanOut, modulesToSave, ranks, alphas, layersToTransform, baseModel);
  }

  public LoraConfig withDropout(double p) {
    return new LoraConfig(r, alpha, p, targetModules, targetRegex, bias, useRslora, useDora, init,
        fanInFanOut, modulesToSave, rankPattern, alphaPattern, layersToTransform, baseModel);
  }

  public LoraConfig withFanInFanOut(boolean fifo) {
    return new LoraConfig(r, alpha, dropout, targetModules, targetRegex, bias, useRslora, useDora, init,
        fifo, modulesToSave, rankPattern, alphaPattern, layersToTransform, baseModel);
  }

  /** Fields of a PEFT LoraConfig that would change the math and that laketune does not implement. */
  private static final Map<String, String> UNSUPPORTED = Map.ofEntries(
      Map.entry("alora_invocation_tokens", "activated LoRA"),
      Map.entry("use_bdlora", "block-diagonal LoRA"),
      Map.entry("arrow_config", "Arrow routing"),
      Map.entry("ensure_weight_tying", "tied adapter weights"),
      Map.entry("use_qalora", "QA-LoRA"),
      Map.entry("lora_bias", "LoRA bias on lora_B"),
      Map.entry("layer_replication", "layer replication"),
      Map.entry("target_parameters", "LoRA on parameters"),
      Map.entry("megatron_config", "Megatron parallel layers"),
      Map.entry("trainable_token_indices", "trainable token indices"),
      Map.entry("exclude_modules", "exclude_modules"));

  /**
   * Reads a PEFT adapter_config.json. Unknown keys are ignored (PEFT adds fields with every
   * release); a feature we do not support that is switched on is an error naming the key.
   */
  public static LoraConfig fromJson(JsonNode j, String source) {
    if (j == null || !j.isObject()) throw new IllegalArgumentException(source + " is not a JSON object");
    String type = j.path("peft_type").asText("LORA");
    if (!type.equals("LORA")) {
      throw new IllegalArgumentException(source + ": peft_type '" + type + "' is not supported (only LORA)");
    }
    for (Map.Entry<String, String> u : UNSUPPORTED.entrySet()) {
      JsonNode v = j.get(u.getKey());
      boolean on = v != null && !v.isNull() && !(v.isBoolean() && !v.booleanValue())
          && !(v.isContainerNode() && v.isEmpty());
      if (on) throw new IllegalArgumentException(source + ": '" + u.getKey() + "' (" + u.getValue() + ") is not supported");
    }
    if (j.hasNonNull("layers_pattern") && !j.get("layers_pattern").isEmpty()
        && !(j.get("layers_pattern").isTextual() && j.get("layers_pattern").asText().isEmpty())) {
      throw new IllegalArgumentException(source + ": 'layers_pattern' is not supported");
    }
    JsonNode t = j.get("target_modules");
    List<String> targets = new ArrayList<>();
    String regex = null;
    if (t == null || t.isNull()) {
      throw new IllegalArgumentException(source + ": 'target_modules' is missing; name the modules the adapter was trained on");
    } else if (t.isTextual()) {
      if (t.asText().equals(ALL_LINEAR)) targets.add(ALL_LINEAR);
      else regex = t.asText();
    } else if (t.isArray()) {
      for (JsonNode n : t) targets.add(n.asText());
    } else {
      throw new IllegalArgumentException(source + ": 'target_modules' must be a list of names or a regex string");
    }
    JsonNode init = j.get("init_lora_weights");
    String initMode = init == null || init.isNull() ? "true" : init.asText();
    if (initMode.startsWith("pissa_niter_")) {
      throw new IllegalArgumentException(source + ": init_lora_weights '" + initMode
          + "' (fast SVD) is not supported; use 'pissa'");
    }
    List<String> toSave = new ArrayList<>();
    if (j.hasNonNull("modules_to_save")) for (JsonNode n : j.get("modules_to_save")) toSave.add(n.asText());
    Map<String, Integer> ranks = new LinkedHashMap<>();
    j.path("rank_pattern").fields().forEachRemaining(e -> ranks.put(e.getKey(), e.getValue().asInt()));
    Map<String, Double> alphas = new LinkedHashMap<>();
    j.path("alpha_pattern").fields().forEachRemaining(e -> alphas.put(e.getKey(), e.getValue().asDouble()));
    List<Integer> layers = null;
    JsonNode ltt = j.get("layers_to_transform");
    if (ltt != null && !ltt.isNull()) {
      layers = new ArrayList<>();
      if (ltt.isInt()) layers.add(ltt.asInt());
      else for (JsonNode n : ltt) layers.add(n.asInt());
    }
    return new LoraConfig(j.path("r").asInt(8), j.path("lora_alpha").asDouble(8), j.path("lora_dropout").asDouble(0),
        targets, regex, j.path("bias").asText("none"), j.path("use_rslora").asBoolean(false),
        j.path("use_dora").asBoolean(false), initMode, j.path("fan_in_fan_out").asBoolean(false), toSave,
        ranks, alphas, layers, j.hasNonNull("base_model_name_or_path") ? j.get("base_model_name_or_path").asText() : null);
  }

  /** adapter_config.json as PEFT writes it (the fields PEFT and vLLM read). */
  public ObjectNode toJson() {
    ObjectMapper m = new ObjectMapper();
    ObjectNode j = m.createObjectNode();
    ObjectNode ap = j.putObject("alpha_pattern");
    alphaPattern.forEach(ap::put);
    j.putNull("auto_mapping");
    if (baseModel == null) j.putNull("base_model_name_or_path");
    else j.put("base_model_name_or_path", baseModel);
    j.put("bias", bias);
    j.put("fan_in_fan_out", fanInFanOut);
    j.put("inference_mode", true);
    if (init.equals("true") || init.equals("false")) j.put("init_lora_weights", Boolean.parseBoolean(init));
    else j.put("init_lora_weights", init);
    j.putNull("layer_replication");
    if (layersToTransform == null) j.putNull("layers_to_transform");
    else {
      ArrayNode l = j.putArray("layers_to_transform");
      layersToTransform.forEach(l::add);
    }
    j.putNull("layers_pattern");
    if (alpha == Math.rint(alpha)) j.put("lora_alpha", (long) alpha);
    else j.put("lora_alpha", alpha);
    j.put("lora_dropout", dropout);
    j.putNull("megatron_config");
    j.putNull("megatron_core");
    if (modulesToSave.isEmpty()) j.putNull("modules_to_save");
    else {
      ArrayNode a = j.putArray("modules_to_save");
      modulesToSave.forEach(a::add);
    }
    j.put("peft_type", "LORA");
    j.put("r", r);
    ObjectNode rp = j.putObject("rank_pattern");
    rankPattern.forEach(rp::put);
    j.putNull("revision");
    if (targetRegex != null) j.put("target_modules", targetRegex);
    else if (targetModules.equals(List.of(ALL_LINEAR))) j.put("target_modules", ALL_LINEAR);
    else {
      ArrayNode a = j.putArray("target_modules");
      targetModules.forEach(a::add);
    }
    j.put("task_type", "CAUSAL_LM");
    j.put("use_dora", useDora);
    j.put("use_rslora", useRslora);
    return j;
  }
}
