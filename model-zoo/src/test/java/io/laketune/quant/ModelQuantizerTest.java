package io.laketune.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.DType;
import io.laketune.io.SafetensorsReader;
import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.nn.Param;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Quantising a loaded model: which weights (linear layers only), GPT-2's transposed Conv1D weights
 * through forward and backward, the packed Param's contract, and resident bytes per frozen parameter.
 */
class ModelQuantizerTest {
  @TempDir Path tmp;

  @Test
  void quantisesFrozenLinearWeightsOnly() throws Exception {
    Predicate<String> trainable = n -> n.contains("layers.1.self_attn.q_proj");
    CausalLm m = HfModels.load(Fixtures.dir("llama"),
        new HfModels.Options(DataType.FLOAT, DataType.FLOAT, trainable));
    List<String> done = ModelQuantizer.quantizeFrozenLinears(m.params(), ModelQuantizer.Settings.qlora());
    assertEquals(13, done.size(), "7 linears x 2 layers, less the trainable one");
    for (Param p : m.params().all().values()) {
      boolean expected = !p.trainable() && p.name().endsWith("_proj.weight");
      assertEquals(expected, p.packed() != null, p.name());
    }
    assertNull(m.params().get("lm_head.weight").packed());
    assertTrue(ModelQuantizer.quantizeFrozenLinears(m.params(), ModelQuantizer.Settings.qlora()).isEmpty(),
        "already packed weights are left alone");
  }

  @Test
  void packedParamContract() throws Exception {
    CausalLm m = HfModels.load(Fixtures.dir("llama"), HfModels.Options.inference());
    Param q = m.params().get("model.layers.0.self_attn.q_proj.weight");
    Param o = m.params().get("model.layers.0.self_attn.o_proj.weight");
    INDArray original = q.stored().dup();
    QuantizedTensor qt = QuantizedTensor.quantize(original, QuantType.NF4, 64, false);
    q.pack(qt, false);
    assertThrows(IllegalStateException.class, q::stored);
    assertThrows(IllegalStateException.class, () -> q.set(original));
    assertEquals(32 * 32 / 2 + 4 * 16, q.bytesResident());
    INDArray v = q.value();
    assertEquals(0.0, v.sub(qt.dequantize()).amaxNumber().doubleValue(), 0.0);
    assertTrue(v.sub(original).amaxNumber().doubleValue() < 0.15 * original.amaxNumber().doubleValue(),
        "within half the widest NF4 gap (0.72 .. 1.0) of each block's absmax");
    o.pack(QuantizedTensor.quantize(o.stored(), QuantType.NF4, 64, false), false);
    assertSame(v, o.value(), "packed parameters of one shape share this thread's buffer");

    CausalLm full = HfModels.load(Fixtures.dir("llama"), HfModels.Options.fullTraining());
    Param t = full.params().get("model.layers.0.mlp.up_proj.weight");
    assertThrows(IllegalStateException.class,
        () -> t.pack(QuantizedTensor.quantize(t.stored(), QuantType.NF4, 64, false), false));
    Param up = m.params().get("model.layers.0.mlp.up_proj.weight");
    assertThrows(IllegalArgumentException.class,
        () -> up.pack(QuantizedTensor.quantize(up.stored(), QuantType.NF4, 64, false), true));
  }

  @Test
  void gpt2Conv1dWeightsAreQuantisedTransposedThroughForwardAndBackward() throws Exception {
    Path dir = Fixtures.dir("gpt2");
    Predicate<String> trainable = n -> n.endsWith(".bias");
    HfModels.Options opts = new HfModels.Options(DataType.FLOAT, DataType.FLOAT, trainable);
    CausalLm packed = HfModels.load(dir, opts);
    List<String> done = ModelQuantizer.quantizeFrozenLinears(packed.params(),
        new ModelQuantizer.Settings(QuantType.FP4, 64, true));
    assertEquals(8, done.size());
    Param cAttn = packed.params().get("transformer.h.0.attn.c_attn.weight");
    assertTrue(cAttn.packedTransposed());
    assertEquals(List.of(96L, 32L), List.of(cAttn.packed().shape()[0], cAttn.packed().shape()[1]));

    CausalLm plain = HfModels.load(dir, opts);
    for (String name : done) {
      Param p = packed.params().get(name);
      plain.params().get(name).set(((QuantizedTensor) p.packed()).dequantize().transpose());
    }
    try (SafetensorsReader g = SafetensorsReader.open(dir.resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(g);
      INDArray a = packed.logits(batch);
      INDArray b = plain.logits(batch);
      assertEquals(0.0, a.sub(b).amaxNumber().doubleValue(), 1e-5);
      packed.params().zeroGrads();
      plain.params().zeroGrads();
      double la = packed.forwardBackward(batch, 1.0).sum();
      double lb = plain.forwardBackward(batch, 1.0).sum();
      assertEquals(lb, la, 1e-4);
      assertEquals(0.0, packed.params().flatGrads().sub(plain.params().flatGrads()).amaxNumber().doubleValue(), 1e-5);
    }

    Path out = tmp.resolve("gpt2_fp4");
    HfModels.save(packed, out, DType.F32, Long.MAX_VALUE, List.of());
    assertEquals("fp4", new ObjectMapper().readTree(out.resolve("config.json").toFile())
        .at("/quantization_config/bnb_4bit_quant_type").asText());
    CausalLm back = HfModels.load(out, HfModels.Options.inference());
    assertNotNull(back.params().get("transformer.h.1.mlp.c_proj.weight").packed());
    try (SafetensorsReader g = SafetensorsReader.open(dir.resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(g);
      assertEquals(0.0, back.logits(batch).sub(packed.logits(batch)).amaxNumber().doubleValue(), 0.0);
    }
  }

  @Test
  void residentBytesPerFrozenParameter() throws Exception {
    String json = """
        {"model_type":"llama","vocab_size":2048,"hidden_size":256,"intermediate_size":704,
         "num_hidden_layers":2,"num_attention_heads":8,"num_key_value_heads":8,"rms_norm_eps":1e-5,
         "tie_word_embeddings":false}""";
    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(json), "test config");
    StringBuilder report = new StringBuilder("resident bytes per frozen parameter (Llama C 256, I 704, 2 layers,"
        + " V 2048; whole model | linear weights only):\n");
    double[] linearOnly = new double[4];
    String[] labels = {"fp32", "bf16", "nf4 (rest bf16)", "nf4+dq (rest bf16)"};
    for (int k = 0; k < 4; k++) {
      DataType storage = k == 0 ? DataType.FLOAT : DataType.BFLOAT16;
      CausalLm m = HfModels.create(cfg, new HfModels.Options(DataType.FLOAT, storage, n -> false));
      Nd4j.getRandom().setSeed(7);
      for (Param p : m.params().all().values()) p.set(Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.02));
      if (k >= 2) {
        ModelQuantizer.quantizeFrozenLinears(m.params(), new ModelQuantizer.Settings(QuantType.NF4, 64, k == 3));
      }
      long bytes = 0;
      long count = 0;
      for (Param p : m.params().all().values()) {
        if (ModelQuantizer.isQuantizable(p.name())) {
          bytes += p.bytesResident();
          count += p.length();
        }
      }
      linearOnly[k] = (double) bytes / count;
      report.append(String.format("  %-20s %.4f | %.4f%n", labels[k],
          ModelQuantizer.bytesPerFrozenParameter(m.params()), linearOnly[k]));
    }
    System.out.print(report);
    assertEquals(4.0, linearOnly[0], 0.0);
    assertEquals(2.0, linearOnly[1], 0.0);
    assertEquals(0.5 + 4.0 / 64, linearOnly[2], 1e-12);
    assertEquals(0.5 + 1.0 / 64 + 4.0 / (64 * 256), linearOnly[3], 1e-4);
  }
}
