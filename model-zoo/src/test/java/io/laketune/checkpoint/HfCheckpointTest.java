package io.laketune.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.DType;
import io.laketune.io.SafetensorsReader;
import io.laketune.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Hugging Face checkpoint directories: single file and sharded layouts, and the errors users can cause. */
class HfCheckpointTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CONFIG = "{\"model_type\":\"llama\",\"hidden_size\":4}";

  @TempDir Path tmp;

  /** Five float tensors of 8, 16, 32, 16, 8 elements, plus an int64 buffer. */
  private static LinkedHashMap<String, INDArray> tensors() {
    LinkedHashMap<String, INDArray> t = new LinkedHashMap<>();
    t.put("model.embed_tokens.weight", ramp(1, 1, 2, 4));
    t.put("model.layers.0.self_attn.q_proj.weight", ramp(-8, 1, 4, 4));
    t.put("model.layers.0.mlp.up_proj.weight", ramp(0, 0.5f, 8, 4));
    t.put("model.layers.0.mlp.down_proj.weight", ramp(5, 2, 4, 4));
    t.put("lm_head.weight", ramp(0.5f, 0.5f, 2, 4));
    t.put("model.position_ids", Nd4j.createFromArray(0L, 1L, 2L));
    return t;
  }

  /** rows × cols floats start, start + step, ...; small multiples of 0.5, so exact in bf16 and f16. */
  private static INDArray ramp(float start, float step, int rows, int cols) {
    float[] v = new float[rows * cols];
    for (int i = 0; i < v.length; i++) {
      v[i] = start + i * step;
    }
    return Nd4j.createFromArray(v).reshape(rows, cols);
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void singleFileRoundTrip() throws IOException {
    Path dir = tmp.resolve("out");
    LinkedHashMap<String, INDArray> t = tensors();
    HfCheckpointWriter.write(dir, CONFIG, t, DType.BF16, 1L << 30);
    assertEquals(List.of("config.json", "model.safetensors"), listing(dir));
    assertEquals(CONFIG, Files.readString(dir.resolve("config.json")));
    assertEquals(List.of("out"), listing(tmp), "no temporary directory is left behind");
    try (HfCheckpointReader r = HfCheckpointReader.open(dir)) {
      assertEquals("llama", r.config().get("model_type").asText());
      assertEquals(List.copyOf(t.keySet()), r.names());
      assertEquals(DType.BF16, r.info("lm_head.weight").dtype());
      assertEquals(DType.I64, r.info("model.position_ids").dtype(), "integer tensors keep their dtype");
      for (var e : t.entrySet()) {
        INDArray read = r.read(e.getKey(), e.getValue().dataType());
        // All test values are exactly representable in bf16.
        assertEquals(e.getValue(), read, e.getKey());
      }
      assertEquals(dir, r.dir());
      assertThrows(IllegalArgumentException.class, () -> r.info("missing.weight"));
    }
  }

  @Test
  void shardedRoundTripAndIndex() throws IOException {
    Path dir = tmp.resolve("sharded");
    LinkedHashMap<String, INDArray> t = tensors();
    JsonNode config = JSON.readTree(CONFIG);
    // Stored as F32: 32, 64, 128, 64, 32 bytes and 24 for the int64s. A 100-byte limit gives shards
    // [embed, q_proj] 96, [up_proj] 128 (alone, over the limit), [down_proj, lm_head] 96, [position_ids] 24.
    HfCheckpointWriter.write(dir, config, t, DType.F32, 100);
    assertEquals(
        List.of("config.json", "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
            "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors", "model.safetensors.index.json"),
        listing(dir));
    String index = Files.readString(dir.resolve("model.safetensors.index.json"));
    String expected = "{\n"
        + "  \"metadata\": {\n"
        + "    \"total_size\": 344\n"
        + "  },\n"
        + "  \"weight_map\": {\n"
        + "    \"lm_head.weight\": \"model-00003-of-00004.safetensors\",\n"
        + "    \"model.embed_tokens.weight\": \"model-00001-of-00004.safetensors\",\n"
        + "    \"model.layers.0.mlp.down_proj.weight\": \"model-00003-of-00004.safetensors\",\n"
        + "    \"model.layers.0.mlp.up_proj.weight\": \"model-00002-of-00004.safetensors\",\n"
        + "    \"model.layers.0.self_attn.q_proj.weight\": \"model-00001-of-00004.safetensors\",\n"
        + "    \"model.position_ids\": \"model-00004-of-00004.safetensors\"\n"
        + "  }\n"
        + "}\n";
    assertEquals(expected, index);
    assertEquals(config, JSON.readTree(dir.resolve("config.json").toFile()));
    try (SafetensorsReader shard = SafetensorsReader.open(dir.resolve("model-00001-of-00004.safetensors"))) {
      assertEquals("pt", shard.metadata().get("format"));
    }
    try (HfCheckpointReader r = HfCheckpointReader.open(dir)) {
      assertEquals(t.size(), r.names().size());
      assertEquals(dir.resolve("model-00002-of-00004.safetensors"), r.fileOf("model.layers.0.mlp.up_proj.weight"));
      for (var e : t.entrySet()) {
        assertEquals(e.getValue(), r.read(e.getKey(), e.getValue().dataType()), e.getKey());
      }
      INDArray into = Nd4j.zeros(DataType.DOUBLE, 4, 4);
      r.readInto("model.layers.0.mlp.down_proj.weight", into);
      assertEquals(t.get("model.layers.0.mlp.down_proj.weight").castTo(DataType.DOUBLE), into);
    }
  }

  @Test
  void copiesExtraFilesAndRefusesToOverwrite() throws IOException {
    Path tokenizer = tmp.resolve("tokenizer.json");
    Files.writeString(tokenizer, "{\"model\":{}}");
    Path dir = tmp.resolve("with-tokenizer");
    Files.createDirectories(dir);
    HfCheckpointWriter.write(dir, JSON.readTree(CONFIG), tensors(), DType.F16, 1L << 20, List.of(tokenizer));
    assertTrue(listing(dir).contains("tokenizer.json"));
    FileAlreadyExistsException e = assertThrows(
        FileAlreadyExistsException.class,
        () -> HfCheckpointWriter.write(dir, CONFIG, tensors(), DType.F16, 1L << 20));
    assertTrue(e.getMessage().contains("with-tokenizer"), e.getMessage());
    Path config = tmp.resolve("config.json");
    Files.writeString(config, "{}");
    assertThrows(IllegalArgumentException.class,
        () -> HfCheckpointWriter.write(tmp.resolve("clash"), JSON.readTree(CONFIG), tensors(), DType.F16, 1L << 20,
            List.of(config)));
  }

  @Test
  void missingShardIsNamed() throws IOException {
    Path dir = tmp.resolve("broken");
    HfCheckpointWriter.write(dir, CONFIG, tensors(), DType.F32, 100);
    Files.delete(dir.resolve("model-00002-of-00004.safetensors"));
    IOException e = assertThrows(IOException.class, () -> HfCheckpointReader.open(dir));
    assertTrue(e.getMessage().contains("model-00002-of-00004.safetensors"), e.getMessage());
  }

  @Test
  void indexThatPointsOutsideTheDirectoryIsRejected() throws IOException {
    Path dir = tmp.resolve("evil");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), CONFIG);
    Files.writeString(dir.resolve("model.safetensors.index.json"),
        "{\"weight_map\":{\"x\":\"../other/model.safetensors\"}}");
    IOException e = assertThrows(IOException.class, () -> HfCheckpointReader.open(dir));
    assertTrue(e.getMessage().contains("'x'"), e.getMessage());
  }

  @Test
  void tensorMissingFromItsShardIsNamed() throws IOException {
    Path dir = tmp.resolve("mismatch");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), CONFIG);
    new SafetensorsWriter().add("a", Nd4j.ones(DataType.FLOAT, 2)).write(dir.resolve("model-00001-of-00001.safetensors"));
    Files.writeString(dir.resolve("model.safetensors.index.json"),
        "{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\",\"b\":\"model-00001-of-00001.safetensors\"}}");
    IOException e = assertThrows(IOException.class, () -> HfCheckpointReader.open(dir));
    assertTrue(e.getMessage().contains("'b'") && e.getMessage().contains("model-00001-of-00001"), e.getMessage());
  }

  @Test
  void picklesAreNeverLoaded() throws IOException {
    Path dir = tmp.resolve("pickled");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), CONFIG);
    Files.write(dir.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
    IOException e = assertThrows(IOException.class, () -> HfCheckpointReader.open(dir));
    assertTrue(e.getMessage().contains("pytorch_model.bin") && e.getMessage().contains("never loads"), e.getMessage());
    Files.delete(dir.resolve("pytorch_model.bin"));
    e = assertThrows(IOException.class, () -> HfCheckpointReader.open(dir));
    assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
  }

  @Test
  void configErrorsNameTheFile() throws IOException {
    Path dir = tmp.resolve("noconfig");
    Files.createDirectories(dir);
    IOException missing = assertThrows(IOException.class, () -> HfCheckpointReader.open(dir));
    assertTrue(missing.getMessage().contains("config.json"), missing.getMessage());
    Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 4,");
    IOException malformed = assertThrows(IOException.class, () -> HfCheckpointReader.open(dir));
    assertTrue(malformed.getMessage().contains("config.json") && malformed.getMessage().contains("JSON"),
        malformed.getMessage());
    assertThrows(IOException.class, () -> HfCheckpointReader.open(tmp.resolve("does-not-exist")));
  }

  @Test
  void shardNamesFollowTransformers() {
    assertEquals("model-00002-of-00010.safetensors", HfCheckpointWriter.shardName(2, 10));
    assertFalse(HfCheckpointWriter.shardName(1, 1).contains("model.safetensors"));
  }
}
