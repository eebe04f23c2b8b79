package io.laketune.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.DType;
import io.laketune.io.SafetensorsReader;
import io.laketune.io.SafetensorsWriter;
import io.laketune.nn.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Save → load is bit-exact; bf16 storage; hub-style GPT-2 names; errors name the culprit. */
class CheckpointRoundTripTest {
  @TempDir Path tmp;

  @Test
  void saveThenLoadIsBitExactAndSharded() throws Exception {
    CausalLm a = HfModels.load(Fixtures.dir("llama3"), HfModels.Options.fullTraining());
    Path out = tmp.resolve("saved");
    HfModels.save(a, out, DType.F32, 20_000, List.of());
    assertTrue(Files.exists(out.resolve("model.safetensors.index.json")), "small shard limit must shard");
    CausalLm b = HfModels.load(out, HfModels.Options.fullTraining());
    for (Param p : a.params().all().values()) {
      assertArrayEquals(p.stored().data().asFloat(), b.params().get(p.name()).stored().data().asFloat(), p.name());
    }
    assertEquals("float32", new ObjectMapper().readTree(out.resolve("config.json").toFile()).get("torch_dtype").asText());
  }

  @Test
  void bf16CheckpointSavedAsBf16KeepsItsBytes() throws Exception {
    Path src = Fixtures.dir("llama_bf16");
    CausalLm m = HfModels.load(src, HfModels.Options.inference());
    Path out = tmp.resolve("bf16");
    HfModels.save(m, out, DType.BF16, Long.MAX_VALUE, List.of());
    try (SafetensorsReader x = SafetensorsReader.open(src.resolve("model.safetensors"));
        SafetensorsReader y = SafetensorsReader.open(out.resolve("model.safetensors"))) {
      for (var t : x.tensors()) assertArrayEquals(x.readBytes(t.name()), y.readBytes(t.name()), t.name());
    }
  }

  @Test
  void frozenBf16StorageGivesTheSameLogits() throws Exception {
    Path src = Fixtures.dir("llama_bf16");
    CausalLm fp32 = HfModels.load(src, HfModels.Options.inference());
    CausalLm bf16 = HfModels.load(src, new HfModels.Options(DataType.FLOAT, DataType.BFLOAT16, n -> false));
    assertEquals(DataType.BFLOAT16, bf16.params().get("model.layers.0.mlp.up_proj.weight").stored().dataType());
    try (SafetensorsReader g = SafetensorsReader.open(src.resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(g);
      INDArray x = fp32.logits(batch), y = bf16.logits(batch);
      assertEquals(0.0, x.sub(y).amaxNumber().doubleValue(), 1e-6);
    }
  }

  @Test
  void gpt2HubNamesWithoutPrefixLoad() throws Exception {
    Path src = Fixtures.dir("gpt2");
    Path hub = tmp.resolve("gpt2-hub");
    Files.createDirectories(hub);
    Files.copy(src.resolve("config.json"), hub.resolve("config.json"));
    SafetensorsWriter w = new SafetensorsWriter();
    try (SafetensorsReader r = SafetensorsReader.open(src.resolve("model.safetensors"))) {
      for (var t : r.tensors()) w.add(t.name().replaceFirst("^transformer\\.", ""), r.read(t.name()));
      w.add("h.0.attn.bias", r.read("transformer.h.0.ln_1.bias")); // a legacy mask buffer: ignored
    }
    w.write(hub.resolve("model.safetensors"));
    CausalLm a = HfModels.load(src, HfModels.Options.inference());
    CausalLm b = HfModels.load(hub, HfModels.Options.inference());
    try (SafetensorsReader g = SafetensorsReader.open(src.resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(g);
      assertEquals(0.0, a.logits(batch).sub(b.logits(batch)).amaxNumber().doubleValue(), 0.0);
    }
  }

  @Test
  void missingTensorIsNamed() throws Exception {
    Path src = Fixtures.dir("llama");
    Path dir = tmp.resolve("broken");
    Files.createDirectories(dir);
    Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
    SafetensorsWriter w = new SafetensorsWriter();
    try (SafetensorsReader r = SafetensorsReader.open(src.resolve("model.safetensors"))) {
      for (var t : r.tensors()) if (!t.name().equals("model.norm.weight")) w.add(t.name(), r.read(t.name()));
    }
    w.write(dir.resolve("model.safetensors"));
    IOException e = assertThrows(IOException.class, () -> HfModels.load(dir, HfModels.Options.inference()));
    assertTrue(e.getMessage().contains("model.norm.weight"), e.getMessage());
  }

  @Test
  void unsupportedConfigIsNamed() {
    ObjectMapper json = new ObjectMapper();
    IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
        json.readTree("{\"model_type\":\"falcon\"}"), "config.json"));
    assertTrue(a.getMessage().contains("'falcon' is not supported"), a.getMessage());
    IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
        json.readTree("{\"model_type\":\"llama\",\"vocab_size\":8,\"hidden_size\":8,\"intermediate_size\":8,"
            + "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}"),
        "config.json"));
    assertTrue(b.getMessage().contains("rope_scaling") && b.getMessage().contains("yarn"), b.getMessage());
    IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
        json.readTree("{\"model_type\":\"qwen2\",\"vocab_size\":8,\"hidden_size\":8,\"intermediate_size\":8,"
            + "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"use_sliding_window\":true}"), "config.json"));
    assertTrue(c.getMessage().contains("use_sliding_window"), c.getMessage());
    IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
        json.readTree("{\"model_type\":\"llama\",\"vocab_size\":8,\"hidden_size\":\"big\"}"), "config.json"));
    assertTrue(d.getMessage().contains("'hidden_size' must be an integer"), d.getMessage());
  }
}
