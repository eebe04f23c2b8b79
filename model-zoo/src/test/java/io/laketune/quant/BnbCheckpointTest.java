package io.laketune.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.io.DType;
import io.laketune.io.SafetensorsReader;
import io.laketune.io.SafetensorsWriter;
import io.laketune.io.TensorInfo;
import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.nn.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Pre-quantised bitsandbytes checkpoints in transformers' layout: loading gives the golden logits of
 * the dequantised model; quantising the float llama in Java and saving writes the very bytes of the
 * bnb-format fixture; save → load round-trips; unsupported quantisation methods are clear errors.
 */
class BnbCheckpointTest {
  @TempDir Path tmp;

  @Test
  void loadsNf4DoubleQuantAndFp4CheckpointsToTheGoldenLogits() throws Exception {
    for (String name : new String[] {"llama_bnb_nf4", "llama_bnb_fp4"}) {
      Path dir = Fixtures.dir(name);
      CausalLm m = HfModels.load(dir, HfModels.Options.inference());
      Param q = m.params().get("model.layers.0.self_attn.q_proj.weight");
      assertNotNull(q.packed(), name);
      assertNull(m.params().get("lm_head.weight").packed(), "lm_head stays unquantised");
      assertNull(m.params().get("model.embed_tokens.weight").packed(), "embeddings stay unquantised");
      try (SafetensorsReader g = SafetensorsReader.open(dir.resolve("golden.safetensors"))) {
        for (Param p : m.params().all().values()) {
          if (p.packed() == null) continue;
          float[] expected = QuantFixtures.floats(g, "dequant." + p.name());
          float[] got = ((QuantizedTensor) p.packed()).dequantize().data().asFloat();
          for (int i = 0; i < got.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(got[i]),
                p.name() + "[" + i + "]");
          }
        }
        INDArray logits = m.logits(Fixtures.batch(g));
        INDArray golden = g.read("logits").reshape(logits.shape());
        assertEquals(0.0, logits.sub(golden).amaxNumber().doubleValue(), 1e-4, name);
      }
    }
  }

  @Test
  void quantisingTheFloatLlamaInJavaWritesBitsandbytesBytes() throws Exception {
    CausalLm m = HfModels.load(Fixtures.dir("llama"), HfModels.Options.inference());
    List<String> packed = ModelQuantizer.quantizeFrozenLinears(m.params(), ModelQuantizer.Settings.qlora());
    assertEquals(14, packed.size());
    Path out = tmp.resolve("nf4");
    HfModels.save(m, out, DType.F32, Long.MAX_VALUE, List.of());
    assertSameTensors(Fixtures.dir("llama_bnb_nf4").resolve("model.safetensors"), out.resolve("model.safetensors"));
    ObjectMapper json = new ObjectMapper();
    Path fixtureConfig = Fixtures.dir("llama_bnb_nf4").resolve("config.json");
    assertEquals(json.readTree(fixtureConfig.toFile()).get("quantization_config"),
        json.readTree(out.resolve("config.json").toFile()).get("quantization_config"));

    CausalLm back = HfModels.load(out, HfModels.Options.inference());
    try (SafetensorsReader g = SafetensorsReader.open(Fixtures.dir("llama_bnb_nf4").resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(g);
      INDArray a = m.logits(batch);
      INDArray b = back.logits(batch);
      assertEquals(0.0, a.sub(b).amaxNumber().doubleValue(), 0.0, "save -> load keeps every bit");
      assertEquals(0.0, a.sub(g.read("logits").reshape(a.shape())).amaxNumber().doubleValue(), 1e-4);
    }
  }

  @Test
  void loadedCheckpointSavesBackByteIdentical() throws Exception {
    for (String name : new String[] {"llama_bnb_nf4", "llama_bnb_fp4"}) {
      Path dir = Fixtures.dir(name);
      CausalLm m = HfModels.load(dir, HfModels.Options.inference());
      Path out = tmp.resolve(name);
      HfModels.save(m, out, DType.F32, Long.MAX_VALUE, List.of());
      assertSameTensors(dir.resolve("model.safetensors"), out.resolve("model.safetensors"));
    }
  }

  @Test
  void trainableWeightsOfA4bitCheckpointAreDequantised() throws Exception {
    Path dir = Fixtures.dir("llama_bnb_nf4");
    CausalLm m = HfModels.load(dir, HfModels.Options.fullTraining());
    Param q = m.params().get("model.layers.1.mlp.down_proj.weight");
    assertNull(q.packed());
    assertTrue(q.trainable());
    try (SafetensorsReader g = SafetensorsReader.open(dir.resolve("golden.safetensors"))) {
      assertArrayEquals(QuantFixtures.floats(g, "dequant." + q.name()), q.stored().data().asFloat());
    }
    Path out = tmp.resolve("float");
    HfModels.save(m, out, DType.F32, Long.MAX_VALUE, List.of());
    assertFalse(new ObjectMapper().readTree(out.resolve("config.json").toFile()).has("quantization_config"),
        "a model with no packed weight is saved as a plain checkpoint");
  }

  @Test
  void unsupportedQuantisationIsAnErrorNamingTheKey() throws Exception {
    String[][] cases = {
      {"{\"quant_method\": \"gptq\", \"bits\": 4}", "quantization_config.quant_method"},
      {"{\"quant_method\": \"awq\"}", "quantization_config.quant_method"},
      {"{\"quant_method\": \"bitsandbytes\", \"load_in_8bit\": true, \"load_in_4bit\": false}",
          "quantization_config.load_in_8bit"},
      {"{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"bnb_4bit_quant_storage\": \"bfloat16\"}",
          "quantization_config.bnb_4bit_quant_storage"},
    };
    for (String[] c : cases) {
      Path dir = copyWithQuantConfig(Fixtures.dir("llama_bnb_nf4"), c[0]);
      IOException e = assertThrows(IOException.class, () -> HfModels.load(dir, HfModels.Options.inference()));
      assertTrue(e.getMessage().contains(c[1]), e.getMessage());
    }
    Path plain = copyWithQuantConfig(Fixtures.dir("llama_bnb_nf4"), null);
    IOException e = assertThrows(IOException.class, () -> HfModels.load(plain, HfModels.Options.inference()));
    assertTrue(e.getMessage().contains("quantization_config"), e.getMessage());
  }

  @Test
  void brokenQuantStateIsAnErrorNamingTheKey() throws Exception {
    String w = "model.layers.1.mlp.up_proj.weight";
    String[][] cases = {
      {w + ".absmax", null, w + ".absmax"},
      {w + ".nested_absmax", "F32:3", w + ".nested_absmax"},
      {w + ".quant_state.bitsandbytes__nf4", "{\"quant_type\": \"nf4\", \"blocksize\": 48}", "blocksize"},
      {w, "U8:7", w},
    };
    for (String[] c : cases) {
      Path dir = Files.createTempDirectory(tmp, "broken");
      Path src = Fixtures.dir("llama_bnb_nf4");
      Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
      SafetensorsWriter out = new SafetensorsWriter();
      try (SafetensorsReader r = SafetensorsReader.open(src.resolve("model.safetensors"))) {
        for (TensorInfo t : r.tensors()) {
          if (!t.name().equals(c[0])) {
            out.addRaw(t.name(), t.dtype(), t.shape(), r.readBytes(t.name()));
          } else if (c[1] != null && c[1].startsWith("{")) {
            byte[] json = c[1].getBytes(java.nio.charset.StandardCharsets.UTF_8);
            out.addRaw(t.name(), DType.U8, new long[] {json.length}, json);
          } else if (c[1] != null) {
            DType type = DType.fromSafetensors(c[1].split(":")[0]);
            int n = Integer.parseInt(c[1].split(":")[1]);
            out.addRaw(t.name(), type, new long[] {n}, new byte[n * type.size()]);
          }
        }
      }
      out.write(dir.resolve("model.safetensors"));
      IOException e = assertThrows(IOException.class, () -> HfModels.load(dir, HfModels.Options.inference()));
      assertTrue(e.getMessage().contains(c[2]), e.getMessage());
    }
  }

  @Test
  void quantStateJsonIsWhatPythonWrites() throws Exception {
    try (SafetensorsReader r = SafetensorsReader.open(Fixtures.dir("llama_bnb_nf4").resolve("model.safetensors"))) {
      String key = "model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4";
      byte[] json = r.readBytes(key);
      BnbQuantState st = BnbQuantState.parse(json, key, "fixture");
      assertArrayEquals(new long[] {32, 32}, st.shape());
      assertEquals(256, st.nestedBlocksize());
      assertArrayEquals(json, st.toJson());
    }
    assertEquals("0.0123", BnbQuantState.pythonRepr(0.0123));
    assertEquals("1e-05", BnbQuantState.pythonRepr(1e-5));
    assertEquals("0.0001", BnbQuantState.pythonRepr(1e-4));
    assertEquals("1.5e-05", BnbQuantState.pythonRepr(1.5e-5));
    assertEquals("64.0", BnbQuantState.pythonRepr(64));
    assertEquals("1e+16", BnbQuantState.pythonRepr(1e16));
    assertEquals("-0.0", BnbQuantState.pythonRepr(-0.0));
    assertEquals("0.10000000149011612", BnbQuantState.pythonRepr(0.1f));
  }

  private Path copyWithQuantConfig(Path src, String quantConfig) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "ckpt");
    Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
    ObjectMapper json = new ObjectMapper();
    ObjectNode cfg = (ObjectNode) json.readTree(src.resolve("config.json").toFile());
    if (quantConfig == null) cfg.remove("quantization_config");
    else cfg.set("quantization_config", json.readTree(quantConfig));
    Files.writeString(dir.resolve("config.json"), json.writeValueAsString(cfg));
    return dir;
  }

  /** Same tensor names, dtypes, shapes and bytes (the order inside the file may differ). */
  static void assertSameTensors(Path expected, Path actual) throws IOException {
    try (SafetensorsReader x = SafetensorsReader.open(expected);
        SafetensorsReader y = SafetensorsReader.open(actual)) {
      assertEquals(names(x), names(y));
      for (TensorInfo t : x.tensors()) {
        TensorInfo u = y.info(t.name());
        assertEquals(t.dtype(), u.dtype(), t.name());
        assertArrayEquals(t.shape(), u.shape(), t.name());
        assertArrayEquals(x.readBytes(t.name()), y.readBytes(t.name()), t.name());
      }
    }
  }

  private static List<String> names(SafetensorsReader r) {
    return r.tensors().stream().map(TensorInfo::name).sorted().toList();
  }
}
