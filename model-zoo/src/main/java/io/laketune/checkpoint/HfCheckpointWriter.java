package io.laketune.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.io.DType;
import io.laketune.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes a Hugging Face model directory that transformers' from_pretrained loads unchanged.
 *
 * <p>Layout as save_pretrained writes it: config.json; then model.safetensors when all tensors fit in
 * {@code maxShardBytes}, else model-00001-of-0000N.safetensors shards filled in order (a tensor larger
 * than the limit gets a shard of its own) plus model.safetensors.index.json holding
 * {"metadata": {"total_size": tensor bytes}, "weight_map": {tensor: shard}} with sorted keys. Sizes
 * count tensor bytes as stored, not headers. Everything is written into a hidden temporary sibling
 * directory that is renamed to {@code dir} at the end, so a half-written directory never looks finished.
 */
public final class HfCheckpointWriter {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Python's json.dumps(indent=2) layout: two-space indent, "key": value. */
  private static final ObjectWriter PRETTY =
      JSON.writer(
          new DefaultPrettyPrinter()
              .withObjectIndenter(new DefaultIndenter("  ", "\n"))
              .withSeparators(
                  Separators.createDefaultInstance()
                      .withObjectFieldValueSpacing(Separators.Spacing.AFTER)));

  private HfCheckpointWriter() {}

  /** Writes config and tensors; {@code configJson} must be a JSON object and is written verbatim. */
  public static void write(
      Path dir, String configJson, LinkedHashMap<String, INDArray> tensors, DType storeAs, long maxShardBytes)
      throws IOException {
    write(dir, parseConfig(configJson), configJson, tensors, storeAs, Map.of(), maxShardBytes, List.of(), Map.of());
  }

  /** Writes config (pretty-printed) and tensors. */
  public static void write(
      Path dir, JsonNode config, LinkedHashMap<String, INDArray> tensors, DType storeAs, long maxShardBytes)
      throws IOException {
    write(dir, config, tensors, storeAs, maxShardBytes, List.of());
  }

  /**
   * Writes config, tensors and copies of {@code extraFiles} (tokenizer.json, generation_config.json, ...).
   *
   * @param storeAs dtype for floating-point arrays (e.g. BF16); integer and bool arrays keep their type,
   *     as torch's model.to(dtype) does
   * @param maxShardBytes largest tensor bytes per shard, e.g. 5,000,000,000 like transformers' "5GB"
   */
  public static void write(
      Path dir, JsonNode config, LinkedHashMap<String, INDArray> tensors, DType storeAs, long maxShardBytes,
      List<Path> extraFiles)
      throws IOException {
    write(dir, config, tensors, storeAs, Map.of(), maxShardBytes, extraFiles);
  }

  /**
   * As above, with {@code exactTypes}: tensors stored in the given dtype whatever {@code storeAs} says
   * (bitsandbytes 4-bit weights keep U8 bytes and F32 scales in a BF16 checkpoint).
   */
  public static void write(
      Path dir, JsonNode config, LinkedHashMap<String, INDArray> tensors, DType storeAs,
      Map<String, DType> exactTypes, long maxShardBytes, List<Path> extraFiles)
      throws IOException {
    write(dir, config, tensors, storeAs, exactTypes, maxShardBytes, extraFiles, Map.of());
  }

  /**
   * As above, with entries for every shard's "__metadata__" besides "format": "pt" (string values,
   * as the safetensors library requires; transformers ignores keys it does not know).
   */
  public static void write(
      Path dir, JsonNode config, LinkedHashMap<String, INDArray> tensors, DType storeAs,
      Map<String, DType> exactTypes, long maxShardBytes, List<Path> extraFiles, Map<String, String> metadata)
      throws IOException {
    write(dir, config, PRETTY.writeValueAsString(config) + "\n", tensors, storeAs, exactTypes, maxShardBytes,
        extraFiles, metadata);
  }

  private static void write(
      Path dir, JsonNode config, String configText, LinkedHashMap<String, INDArray> tensors, DType storeAs,
      Map<String, DType> exactTypes, long maxShardBytes, List<Path> extraFiles, Map<String, String> metadata)
      throws IOException {
    if (!config.isObject()) {
      throw new IllegalArgumentException("config for " + dir + " must be a JSON object.");
    }
    if (maxShardBytes <= 0) {
      throw new IllegalArgumentException("maxShardBytes must be positive, not " + maxShardBytes + ".");
    }
    checkTarget(dir);
    checkExtraFiles(dir, extraFiles);
    List<SafetensorsWriter> shards = plan(tensors, storeAs, exactTypes, maxShardBytes);
    for (SafetensorsWriter shard : shards) {
      shard.metadata(metadata);
    }
    Path absolute = dir.toAbsolutePath();
    Path tmp = absolute.resolveSibling("." + absolute.getFileName() + ".tmp-" + UUID.randomUUID());
    Files.createDirectories(tmp);
    try {
      Files.writeString(tmp.resolve(HfCheckpointReader.CONFIG), configText, StandardCharsets.UTF_8);
      for (Path extra : extraFiles) {
        Files.copy(extra, tmp.resolve(extra.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
      }
      if (shards.size() == 1) {
        shards.get(0).write(tmp.resolve(HfCheckpointReader.SINGLE));
      } else {
        writeShards(tmp, shards);
      }
      publish(tmp, absolute);
    } finally {
      deleteRecursively(tmp);
    }
  }

  /** Extra files must exist and must not replace config.json, the weights or each other. */
  private static void checkExtraFiles(Path dir, List<Path> extraFiles) throws IOException {
    Set<String> names = new HashSet<>();
    for (Path extra : extraFiles) {
      if (!Files.isRegularFile(extra)) {
        throw new IOException(extra + " does not exist; it was listed to be copied into " + dir + ".");
      }
      String name = extra.getFileName().toString();
      boolean reserved =
          name.equals(HfCheckpointReader.CONFIG)
              || name.equals(HfCheckpointReader.SINGLE)
              || name.equals(HfCheckpointReader.INDEX)
              || (name.startsWith("model-") && name.endsWith(".safetensors"));
      if (reserved || !names.add(name)) {
        throw new IllegalArgumentException(
            "extra file " + extra + " would overwrite " + name + " in " + dir
                + "; leave it out of the extra files.");
      }
    }
  }

  /** Shard file name as transformers writes it: model-00001-of-00003.safetensors. */
  static String shardName(int index, int count) {
    return String.format("model-%05d-of-%05d.safetensors", index, count);
  }

  /** Splits tensors in order into shards of at most maxShardBytes (or one oversized tensor each). */
  private static List<SafetensorsWriter> plan(
      LinkedHashMap<String, INDArray> tensors, DType storeAs, Map<String, DType> exactTypes, long maxShardBytes) {
    List<SafetensorsWriter> shards = new ArrayList<>();
    SafetensorsWriter current = new SafetensorsWriter();
    shards.add(current);
    long used = 0;
    for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
      INDArray array = e.getValue();
      DType dtype = exactTypes.containsKey(e.getKey()) ? exactTypes.get(e.getKey())
          : array.dataType().isFPType() ? storeAs : DType.fromNd4j(array.dataType());
      long bytes = Math.multiplyExact(array.length(), (long) dtype.size());
      if (used > 0 && used + bytes > maxShardBytes) {
        current = new SafetensorsWriter();
        shards.add(current);
        used = 0;
      }
      current.add(e.getKey(), array, dtype);
      used += bytes;
    }
    return shards;
  }

  private static void writeShards(Path tmp, List<SafetensorsWriter> shards) throws IOException {
    Map<String, String> weightMap = new TreeMap<>();
    long total = 0;
    for (int i = 0; i < shards.size(); i++) {
      String name = shardName(i + 1, shards.size());
      SafetensorsWriter shard = shards.get(i);
      shard.write(tmp.resolve(name));
      total += shard.dataBytes();
      for (String tensor : shard.names()) {
        weightMap.put(tensor, name);
      }
    }
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", total);
    ObjectNode map = index.putObject("weight_map");
    weightMap.forEach(map::put);
    Files.writeString(
        tmp.resolve(HfCheckpointReader.INDEX), PRETTY.writeValueAsString(index) + "\n", StandardCharsets.UTF_8);
  }

  private static JsonNode parseConfig(String configJson) {
    try {
      return JSON.readTree(configJson);
    } catch (JacksonException e) {
      throw new IllegalArgumentException("config JSON is not valid (" + e.getOriginalMessage() + ").", e);
    }
  }

  /** Refuses to overwrite a non-empty directory or a file. */
  private static void checkTarget(Path dir) throws IOException {
    if (Files.exists(dir) && !isEmptyDirectory(dir)) {
      throw new FileAlreadyExistsException(
          dir.toString(), null, "already exists and is not empty; choose a new directory or delete it.");
    }
  }

  /** Renames the finished temporary directory to its final name (replacing an empty directory). */
  private static void publish(Path tmp, Path dir) throws IOException {
    checkTarget(dir);
    Files.deleteIfExists(dir);
    try {
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    } catch (DirectoryNotEmptyException | FileAlreadyExistsException e) {
      throw new FileAlreadyExistsException(
          dir.toString(), null, "appeared while the checkpoint was being written; choose a new directory.");
    }
  }

  private static boolean isEmptyDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
