package io.laketune.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.DType;
import io.laketune.io.SafetensorsReader;
import io.laketune.io.SafetensorsWriter;
import io.laketune.nn.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT adapter directories: {@code adapter_config.json} + {@code adapter_model.safetensors} with
 * PEFT's key names, which HF PEFT and vLLM load unchanged.
 *
 * <p>Keys: {@code base_model.model.<module>.lora_A.weight} / {@code lora_B.weight},
 * {@code <module>.lora_magnitude_vector} (DoRA), biases of adapted modules under
 * {@code <module>.base_layer.bias}, modules_to_save under their plain names — all with the adapter
 * name left out, as get_peft_model_state_dict saves them.
 */
public final class PeftAdapterFiles {
  public static final String CONFIG = "adapter_config.json";
  public static final String WEIGHTS = "adapter_model.safetensors";
  static final String PREFIX = "base_model.model.";

  private PeftAdapterFiles() {}

  public static LoraConfig readConfig(Path dir) throws IOException {
    Path file = dir.resolve(CONFIG);
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "not a PEFT adapter directory: " + CONFIG + " is missing");
    }
    JsonNode json;
    try {
      json = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
    }
    return LoraConfig.fromJson(json, file.toString());
  }

  /** The file key of an internal parameter name. */
  static String fileKey(LoraModel m, String name) {
    if (name.endsWith(".bias")) {
      String module = name.substring(0, name.length() - ".bias".length());
      if (m.layer(module) != null) return PREFIX + module + ".base_layer.bias";
    }
    return PREFIX + name;
  }

  /** The internal parameter name of a file key. */
  static String internalName(String key) {
    String k = key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key;
    return k.replace(".base_layer.", ".");
  }

  public static void readWeights(Path dir, LoraModel m) throws IOException {
    Path file = dir.resolve(WEIGHTS);
    if (!Files.isRegularFile(file)) {
      if (Files.isRegularFile(dir.resolve("adapter_model.bin"))) {
        throw new IOException(dir + " holds adapter_model.bin: pickles are never loaded; "
            + "save the adapter with safe_serialization=True (adapter_model.safetensors)");
      }
      throw new NoSuchFileException(file.toString(), null, WEIGHTS + " is missing");
    }
    Set<String> expected = new HashSet<>(m.trainableNames());
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      List<String> unknown = new ArrayList<>();
      for (var t : r.tensors()) {
        String name = internalName(t.name());
        Param p = m.model().params().find(name);
        if (p == null || !expected.contains(name)) {
          unknown.add(t.name());
          continue;
        }
        if (!Arrays.equals(p.shape(), t.shape())) {
          throw new IOException(file + ": '" + t.name() + "' has shape " + Arrays.toString(t.shape())
              + " but the adapter config and base model imply " + Arrays.toString(p.shape()));
        }
        p.set(r.read(t.name(), p.stored().dataType()));
        expected.remove(name);
      }
      if (!unknown.isEmpty()) {
        throw new IOException(file + " holds tensors this adapter config does not describe: "
            + unknown.subList(0, Math.min(5, unknown.size())) + (unknown.stream().anyMatch(k -> k.contains("lora_embedding"))
                ? " (LoRA on embeddings is not supported)" : "; check adapter_config.json and the base model"));
      }
      expected.removeIf(n -> !n.contains(".lora_"));
      if (!expected.isEmpty()) {
        throw new IOException(file + " lacks adapter tensors " + expected.stream().limit(5).map(n -> fileKey(m, n)).toList());
      }
    }
  }

  /**
   * The adapter's own tensors by internal name (lora_A/lora_B weights, DoRA magnitudes, trained
   * biases, modules_to_save copies) as fp32, read without loading the base model's weights:
   * {@code plan} ({@link LoraModel#plan}) says which names and shapes to expect. Unknown, missing
   * or misshapen tensors are errors naming them, as in {@link #readWeights}.
   */
  public static java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> readTensors(Path dir, LoraModel plan)
      throws IOException {
    Path file = dir.resolve(WEIGHTS);
    if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, WEIGHTS + " is missing");
    java.util.Map<String, long[]> shapes = new java.util.HashMap<>(io.laketune.model.HfModels.parameterShapes(plan.baseConfig()));
    shapes.putAll(plan.adapterShapes());
    java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> out = new java.util.LinkedHashMap<>();
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      List<String> unknown = new ArrayList<>();
      for (var t : r.tensors()) {
        String name = internalName(t.name());
        if (!plan.trainableNames().contains(name)) {
          unknown.add(t.name());
          continue;
        }
        if (!Arrays.equals(shapes.get(name), t.shape())) {
          throw new IOException(file + ": '" + t.name() + "' has shape " + Arrays.toString(t.shape())
              + " but the adapter config and base model imply " + Arrays.toString(shapes.get(name)));
        }
        out.put(name, r.read(t.name(), org.nd4j.linalg.api.buffer.DataType.FLOAT));
      }
      if (!unknown.isEmpty()) {
        throw new IOException(file + " holds tensors this adapter config does not describe: "
            + unknown.subList(0, Math.min(5, unknown.size())) + "; check adapter_config.json and the base model");
      }
      List<String> missing = plan.trainableNames().stream().filter(n -> n.contains(".lora_") && !out.containsKey(n)).toList();
      if (!missing.isEmpty()) throw new IOException(file + " lacks adapter tensors " + missing.stream().limit(5).toList());
    }
    return out;
  }

  /**
   * Writes the adapter directory (atomically: into a temporary sibling, then renamed). Weights are
   * stored as fp32 unless {@code storeAs} says otherwise.
   */
  public static void write(LoraModel m, Path dir, DType storeAs) throws IOException {
    write(m, dir, storeAs, Map.of());
  }

  /**
   * As above, with {@code metadata} added to adapter_model.safetensors' "__metadata__" (string
   * values; PEFT and vLLM ignore keys they do not know).
   */
  public static void write(LoraModel m, Path dir, DType storeAs, Map<String, String> metadata) throws IOException {
    Path parent = dir.toAbsolutePath().getParent();
    if (parent != null) Files.createDirectories(parent);
    Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".tmp-");
    SafetensorsWriter w = new SafetensorsWriter().metadata(metadata);
    for (String name : m.trainableNames()) w.add(fileKey(m, name), m.model().params().get(name).stored(), storeAs);
    w.write(tmp.resolve(WEIGHTS));
    com.fasterxml.jackson.databind.node.ObjectNode config = m.config().toJson();
    // GPT-2's Conv1D stores weights [in, out]; PEFT records that as fan_in_fan_out
    if (m.targets().stream().anyMatch(t -> t.module().fanInFanOut())) config.put("fan_in_fan_out", true);
    if (m.config().targetModules().equals(List.of(LoraConfig.ALL_LINEAR))) {
      // PEFT saves all-linear expanded to the module names it matched
      var names = config.putArray("target_modules");
      m.targets().stream().map(t -> t.module().name().substring(t.module().name().lastIndexOf('.') + 1))
          .distinct().sorted().forEach(names::add);
    }
    Files.writeString(tmp.resolve(CONFIG), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n");
    if (Files.exists(dir)) {
      try (var s = Files.list(dir)) {
        if (s.findAny().isPresent()) throw new IOException(dir + " already exists and is not empty; choose a new output directory");
      }
      Files.delete(dir);
    }
    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
  }
}
