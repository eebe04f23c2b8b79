package io.laketune.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.SafetensorsReader;
import io.laketune.io.TensorInfo;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Opens a Hugging Face model directory: config.json plus weights in model.safetensors, or in shards
 * named by model.safetensors.index.json ({"weight_map": {tensor: shard file}}), as save_pretrained
 * writes them. Every shard header is validated on open. Pickled weights (pytorch_model.bin) are never
 * loaded: unpickling can run arbitrary code.
 */
public final class HfCheckpointReader implements Closeable {
  static {
    io.laketune.platform.NativeBuilds.initQuietly();
  }


  static final String CONFIG = "config.json";
  static final String SINGLE = "model.safetensors";
  static final String INDEX = "model.safetensors.index.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final JsonNode config;
  private final Map<String, SafetensorsReader> readerByName;
  private final List<String> names;
  private final List<SafetensorsReader> shards;

  private HfCheckpointReader(
      Path dir, JsonNode config, Map<String, SafetensorsReader> readerByName, List<String> names,
      List<SafetensorsReader> shards) {
    this.dir = dir;
    this.config = config;
    this.readerByName = readerByName;
    this.names = names;
    this.shards = shards;
  }

  /** Opens {@code dir}; a missing or malformed file is an IOException naming it and the fix. */
  public static HfCheckpointReader open(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IOException(dir + " is not a directory; point laketune at a Hugging Face model directory"
          + " (the one holding config.json and *.safetensors).");
    }
    JsonNode config =
        readJsonObject(dir.resolve(CONFIG), "a Hugging Face model directory has one next to its weights");
    List<SafetensorsReader> shards = new ArrayList<>();
    try {
      if (Files.isRegularFile(dir.resolve(SINGLE))) {
        return openSingle(dir, config, shards);
      }
      if (Files.isRegularFile(dir.resolve(INDEX))) {
        return openSharded(dir, config, shards);
      }
    } catch (IOException | RuntimeException e) {
      closeAll(shards, e);
      throw e;
    }
    throw noSafetensors(dir);
  }

  private static HfCheckpointReader openSingle(Path dir, JsonNode config, List<SafetensorsReader> shards)
      throws IOException {
    SafetensorsReader reader = SafetensorsReader.open(dir.resolve(SINGLE));
    shards.add(reader);
    Map<String, SafetensorsReader> byName = new LinkedHashMap<>();
    for (TensorInfo t : reader.tensors()) {
      byName.put(t.name(), reader);
    }
    return new HfCheckpointReader(dir, config, byName, List.copyOf(byName.keySet()), List.copyOf(shards));
  }

  private static HfCheckpointReader openSharded(Path dir, JsonNode config, List<SafetensorsReader> shards)
      throws IOException {
    Path indexFile = dir.resolve(INDEX);
    JsonNode weightMap =
        readJsonObject(indexFile, "save_pretrained writes it beside sharded weights").get("weight_map");
    if (weightMap == null || !weightMap.isObject()) {
      throw new IOException(
          indexFile + " has no \"weight_map\" object; re-download the checkpoint or re-save it with"
              + " save_pretrained.");
    }
    Map<String, String> shardOf = new LinkedHashMap<>();
    Set<String> shardFiles = new TreeSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String shard = e.getValue().isTextual() ? e.getValue().textValue() : "";
      boolean plainName =
          !shard.isEmpty() && !shard.contains("/") && !shard.contains("\\") && !shard.equals("..")
              && !shard.equals(".");
      if (!plainName) {
        throw new IOException(
            indexFile + " maps tensor '" + e.getKey() + "' to " + e.getValue()
                + ", which is not a file name in the same directory; re-download the checkpoint.");
      }
      shardOf.put(e.getKey(), shard);
      shardFiles.add(shard);
    }
    for (String shard : shardFiles) {
      Path file = dir.resolve(shard);
      if (!Files.isRegularFile(file)) {
        throw new IOException(
            "shard " + file + " named in " + INDEX + " is missing; download the whole checkpoint directory.");
      }
      SafetensorsReader reader = SafetensorsReader.open(file);
      shards.add(reader);
    }
    Map<String, SafetensorsReader> byName = new LinkedHashMap<>();
    for (SafetensorsReader reader : shards) {
      for (TensorInfo t : reader.tensors()) {
        String listed = shardOf.get(t.name());
        if (listed != null && reader.path().getFileName().toString().equals(listed)) {
          byName.put(t.name(), reader);
        }
      }
    }
    for (Map.Entry<String, String> e : shardOf.entrySet()) {
      if (!byName.containsKey(e.getKey())) {
        throw new IOException(
            INDEX + " in " + dir + " puts tensor '" + e.getKey() + "' in " + e.getValue()
                + ", but that shard does not hold it; re-download the checkpoint.");
      }
    }
    return new HfCheckpointReader(dir, config, byName, List.copyOf(byName.keySet()), List.copyOf(shards));
  }

  /** The checkpoint directory. */
  public Path dir() {
    return dir;
  }

  /** The parsed config.json. */
  public JsonNode config() {
    return config;
  }

  /** Every tensor name: shard by shard (shards in file-name order), each in the order of its bytes. */
  public List<String> names() {
    return names;
  }

  /** Whether the checkpoint holds {@code name}. */
  public boolean contains(String name) {
    return readerByName.containsKey(name);
  }

  /** The header entry of {@code name}; a missing key is an error naming it and the directory. */
  public TensorInfo info(String name) {
    return reader(name).info(name);
  }

  /** Reads {@code name} as a new array of {@code type}, converting from the stored dtype. */
  public INDArray read(String name, DataType type) throws IOException {
    return reader(name).read(name, type);
  }

  /** The raw little-endian bytes of {@code name} (under 2 GB), e.g. packed 4-bit weights. */
  public byte[] readBytes(String name) throws IOException {
    return reader(name).readBytes(name);
  }

  /** Reads {@code name} into an existing array of the same shape (e.g. a view into a flat buffer). */
  public void readInto(String name, INDArray target) throws IOException {
    reader(name).readInto(name, target);
  }

  /** The file that holds {@code name}. */
  public Path fileOf(String name) {
    return reader(name).path();
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (SafetensorsReader r : shards) {
      try {
        r.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private SafetensorsReader reader(String name) {
    SafetensorsReader r = readerByName.get(name);
    if (r == null) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' is not in the checkpoint " + dir + " (it holds " + names.size()
              + " tensors); check the key name against the checkpoint.");
    }
    return r;
  }

  private static JsonNode readJsonObject(Path file, String hint) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + " is missing; " + hint + ".");
    }
    JsonNode node;
    try {
      node = JSON.readTree(file.toFile());
    } catch (JacksonException e) {
      throw new IOException(
          file + " is not valid JSON (" + e.getOriginalMessage() + "); fix or re-download it.", e);
    }
    if (node == null || !node.isObject()) {
      throw new IOException(file + " is not a JSON object; fix or re-download it.");
    }
    return node;
  }

  private static IOException noSafetensors(Path dir) throws IOException {
    List<String> pickles = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.map(p -> p.getFileName().toString())
          .filter(HfCheckpointReader::isPickle)
          .sorted()
          .forEach(pickles::add);
    }
    if (!pickles.isEmpty()) {
      return new IOException(
          dir + " holds only PyTorch pickle weights (" + String.join(", ", pickles) + "), which laketune"
              + " never loads because unpickling can run arbitrary code; convert them to safetensors first,"
              + " e.g. in Python: AutoModelForCausalLM.from_pretrained(dir)"
              + ".save_pretrained(out, safe_serialization=True).");
    }
    return new IOException(
        dir + " has neither " + SINGLE + " nor " + INDEX + "; point laketune at a Hugging Face model"
            + " directory with safetensors weights.");
  }

  /** PyTorch pickle weights and their index, as save_pretrained(safe_serialization=False) writes them. */
  private static boolean isPickle(String name) {
    return name.endsWith(".bin") || name.endsWith(".bin.index.json") || name.endsWith(".pt")
        || name.endsWith(".pth");
  }

  private static void closeAll(List<SafetensorsReader> readers, Exception cause) {
    for (SafetensorsReader r : readers) {
      try {
        r.close();
      } catch (IOException e) {
        cause.addSuppressed(e);
      }
    }
  }
}
