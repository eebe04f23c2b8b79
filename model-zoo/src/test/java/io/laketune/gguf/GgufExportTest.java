package io.laketune.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.model.LlamaConfig;
import io.laketune.model.ModelConfig;
import io.laketune.peft.LoraModel;
import io.laketune.peft.LoraTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What the exporter writes for each architecture, read back with {@link GgufFile}: llama.cpp's
 * tensor names, the Llama q/k row order, GPT-2's transposes, the llama3 rope_freqs, the stored types
 * per tensor, LoRA pairs, and the refusals. (llama.cpp itself runs these in *LlamaCppTest.)
 */
class GgufExportTest {
  @TempDir Path tmp;

  static CausalLm load(String fixture) throws Exception {
    return HfModels.load(Fixtures.dir(fixture), HfModels.Options.inference());
  }

  GgufFile export(String fixture, GgufDtype dtype) throws Exception {
    Path out = tmp.resolve(fixture + "-" + dtype + ".gguf");
    GgufExport.model(load(fixture), Fixtures.dir(fixture), fixture, dtype, out);
    return GgufFile.read(out);
  }

  static float[] hf(CausalLm m, String name) {
    return m.params().get(name).value().dup('c').data().asFloat();
  }

  @Test
  void llamaTensorsAreNamedAndLaidOutForLlamaCppsRope() throws Exception {
    CausalLm m = load("llama_bias");
    LlamaConfig c = (LlamaConfig) m.config();
    GgufFile f = export("llama_bias", GgufDtype.F32);
    assertEquals("llama", f.require("general.architecture").asString());
    assertEquals("model", f.require("general.type").asString());
    assertEquals(c.numLayers(), f.require("llama.block_count").asLong());
    assertEquals(c.numKvHeads(), f.require("llama.attention.head_count_kv").asLong());
    assertEquals(c.headDim(), f.require("llama.rope.dimension_count").asLong());
    assertEquals((float) c.rmsNormEps(), f.require("llama.attention.layer_norm_rms_epsilon").asFloat());
    assertEquals(0, f.require("general.file_type").asLong());
    assertEquals("none", f.require("tokenizer.ggml.model").asString(), "no tokenizer.json: no vocabulary");
    assertEquals(c.vocabSize(), f.require("llama.vocab_size").asLong());

    Set<String> names = new HashSet<>(f.tensors().keySet());
    for (String want : new String[] {"token_embd.weight", "output_norm.weight", "output.weight", "blk.1.attn_norm.weight",
        "blk.1.attn_q.weight", "blk.1.attn_q.bias", "blk.1.attn_k.bias", "blk.1.attn_v.bias", "blk.1.attn_output.weight",
        "blk.1.attn_output.bias", "blk.1.ffn_norm.weight", "blk.1.ffn_gate.weight", "blk.1.ffn_up.bias", "blk.1.ffn_down.weight"}) {
      assertTrue(names.remove(want), want);
    }
    assertEquals(HfModels.parameterShapes(c).size(), f.tensors().size());

    // HF rotates halves (row h*D + s*D/2 + j pairs with s flipped); llama.cpp rotates adjacent rows h*D + 2j + s
    int d = c.headDim();
    long hidden = c.hiddenSize();
    for (String proj : new String[] {"q", "k"}) {
      int heads = proj.equals("q") ? c.numHeads() : c.numKvHeads();
      float[] w = hf(m, "model.layers.1.self_attn." + proj + "_proj.weight");
      float[] g = f.floats("blk.1.attn_" + proj + ".weight");
      float[] wb = hf(m, "model.layers.1.self_attn." + proj + "_proj.bias");
      float[] gb = f.floats("blk.1.attn_" + proj + ".bias");
      assertArrayEquals(new long[] {(long) heads * d, hidden}, f.tensor("blk.1.attn_" + proj + ".weight").shape());
      for (int h = 0; h < heads; h++) {
        for (int j = 0; j < d / 2; j++) {
          for (int s = 0; s < 2; s++) {
            int ggufRow = h * d + 2 * j + s, hfRow = h * d + s * d / 2 + j;
            for (int col = 0; col < hidden; col++) assertEquals(w[(int) (hfRow * hidden + col)], g[(int) (ggufRow * hidden + col)]);
            assertEquals(wb[hfRow], gb[ggufRow]);
          }
        }
      }
    }
    assertArrayEquals(hf(m, "model.layers.1.self_attn.v_proj.weight"), f.floats("blk.1.attn_v.weight"), "v is stored as is");
    assertArrayEquals(hf(m, "lm_head.weight"), f.floats("output.weight"));
  }

  @Test
  void llama3RopeScalingBecomesRopeFreqsThatReproduceLaketunesFrequencies() throws Exception {
    CausalLm m = load("llama3");
    LlamaConfig c = (LlamaConfig) m.config();
    GgufFile f = export("llama3", GgufDtype.F32);
    float[] factors = f.floats("rope_freqs.weight");
    assertEquals(c.headDim() / 2, factors.length);
    float[] scaled = c.rope().invFreq();
    double theta = c.json().path("rope_theta").asDouble(10000);
    boolean someScaled = false;
    for (int i = 0; i < factors.length; i++) {
      double unscaled = 1.0 / Math.pow(theta, 2.0 * i / c.headDim());
      // llama.cpp: theta_i = pos * base^(-2i/D) / factor_i must be laketune's pos * inv_freq_i
      assertEquals(scaled[i], unscaled / factors[i], 1e-6 * scaled[i], "frequency " + i);
      someScaled |= factors[i] != 1f;
    }
    assertTrue(someScaled);
    assertFalse(f.tensors().containsKey("output.weight"), "tied embeddings: llama.cpp reuses token_embd");
    assertNull(export("llama", GgufDtype.F32).tensors().get("rope_freqs.weight"), "no scaling, no rope_freqs");
  }

  @Test
  void qwen2KeepsHfRowOrderAndGpt2IsTransposed() throws Exception {
    CausalLm q = load("qwen2");
    GgufFile fq = export("qwen2", GgufDtype.F32);
    assertEquals("qwen2", fq.require("general.architecture").asString());
    assertArrayEquals(hf(q, "model.layers.0.self_attn.q_proj.weight"), fq.floats("blk.0.attn_q.weight"), "NEOX RoPE: no reordering");
    assertArrayEquals(hf(q, "model.layers.0.self_attn.k_proj.bias"), fq.floats("blk.0.attn_k.bias"));

    CausalLm g = load("gpt2");
    GgufFile fg = export("gpt2", GgufDtype.F16);
    assertEquals("gpt2", fg.require("general.architecture").asString());
    long e = g.config().hiddenSize();
    assertArrayEquals(new long[] {3 * e, e}, fg.tensor("blk.0.attn_qkv.weight").shape(), "Conv1D [in, out] stored as [out, in]");
    float[] w = hf(g, "transformer.h.0.attn.c_attn.weight");
    float[] t = fg.floats("blk.0.attn_qkv.weight");
    for (int i = 0; i < e; i++) {
      for (int o = 0; o < 3 * e; o++) {
        float want = io.laketune.io.HalfFloats.f16BitsToFloat(io.laketune.io.HalfFloats.floatToF16Bits(w[(int) (i * 3 * e + o)]));
        assertEquals(want, t[(int) (o * e + i)]);
      }
    }
    assertEquals(GgmlType.F32, fg.tensor("position_embd.weight").type(), "position embeddings stay F32");
    assertEquals(GgmlType.F32, fg.tensor("blk.0.attn_norm.bias").type());
    assertEquals(GgmlType.F16, fg.tensor("token_embd.weight").type());
    assertFalse(fg.tensors().containsKey("output.weight"));
  }

  @Test
  void q8_0FallsBackToF16ForRowsThatAreNotWholeBlocks() throws Exception {
    String json = """
        {"model_type":"llama","vocab_size":64,"hidden_size":32,"intermediate_size":40,"num_hidden_layers":1,
         "num_attention_heads":2,"num_key_value_heads":2,"tie_word_embeddings":false}""";
    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(json), "test");
    Path out = tmp.resolve("q8.gguf");
    GgufExport.Summary s = GgufExport.model(HfModels.create(cfg, HfModels.Options.inference()), tmp, "q8", GgufDtype.Q8_0, out);
    GgufFile f = GgufFile.read(out);
    assertEquals(7, f.require("general.file_type").asLong());
    assertEquals(GgmlType.Q8_0, f.tensor("blk.0.ffn_up.weight").type(), "rows of 32");
    assertEquals(GgmlType.F16, f.tensor("blk.0.ffn_down.weight").type(), "rows of 40 cannot be Q8_0 blocks");
    assertEquals(GgmlType.F32, f.tensor("blk.0.ffn_norm.weight").type());
    assertEquals(Files.size(out), s.bytes());
  }

  @Test
  void loraAdaptersBecomePairsWithTheBaseLayoutAndScalingFolded() throws Exception {
    // PEFT's "patterns" fixture: regex targets, rank_pattern (o_proj r=2) and alpha_pattern
    Path adapter = Fixtures.dir("peft/patterns");
    LoraModel lora = LoraModel.load(Fixtures.dir("llama"), adapter, DataType.FLOAT);
    ModelConfig base = lora.baseConfig();
    Path out = tmp.resolve("patterns.gguf");
    GgufLoraExport.adapter(base, adapter, "patterns", GgufDtype.F32, out);
    GgufFile f = GgufFile.read(out);
    assertEquals("adapter", f.require("general.type").asString());
    assertEquals("lora", f.require("adapter.type").asString());
    assertEquals((float) lora.config().alpha(), f.require("adapter.lora.alpha").asFloat());
    assertEquals(2 * lora.targets().size(), f.tensors().size());
    LlamaConfig c = (LlamaConfig) base;
    for (LoraTarget t : lora.targets()) {
      String name = GgufTensorNames.of("llama", t.module().name() + ".weight");
      float[] a = lora.model().params().get(t.aName()).value().dup('c').data().asFloat();
      float[] b = lora.model().params().get(t.bName()).value().dup('c').data().asFloat();
      assertArrayEquals(new long[] {t.r(), t.module().inFeatures()}, f.tensor(name + ".lora_a").shape());
      assertArrayEquals(new long[] {t.module().outFeatures(), t.r()}, f.tensor(name + ".lora_b").shape());
      assertArrayEquals(a, f.floats(name + ".lora_a"));
      // llama.cpp scales by alpha / r; PEFT by t.scaling(): the ratio is in lora_b
      double ratio = t.scaling() / (lora.config().alpha() / t.r());
      float[] gb = f.floats(name + ".lora_b");
      boolean q = t.module().name().endsWith("q_proj");
      int d = c.headDim();
      for (int row = 0; row < t.module().outFeatures(); row++) {
        int hfRow = q ? (row / d) * d + (row % 2) * d / 2 + (row % d) / 2 : row;
        for (int k = 0; k < t.r(); k++) assertEquals(b[hfRow * t.r() + k] * ratio, gb[row * t.r() + k], 1e-6, name);
      }
    }
  }

  @Test
  void adapterFeaturesLlamaCppCannotApplyAreRefusedByName() throws Exception {
    for (String[] c : new String[][] {{"dora", "DoRA"}, {"modules_to_save", "modules_to_save"}, {"bias_all", "bias = all"}}) {
      Path adapter = Fixtures.dir("peft/" + c[0]);
      String baseName = new ObjectMapper().readTree(adapter.resolve("adapter_config.json").toFile())
          .path("base_model_name_or_path").asText().replace("../../", "");
      ModelConfig base = HfModels.load(Fixtures.dir(baseName), HfModels.Options.inference()).config();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> GgufLoraExport.adapter(base, adapter, "x", GgufDtype.F32, tmp.resolve(c[0] + ".gguf")));
      assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains("--merge"), e.getMessage());
    }
  }
}
