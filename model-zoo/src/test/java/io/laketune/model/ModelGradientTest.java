package io.laketune.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.nn.GradCheck;
import io.laketune.nn.Param;
import io.laketune.nn.ParamStore;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Whole-model backward against finite differences in double, with and without checkpointing. */
class ModelGradientTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static CausalLm randomModel(String configJson, long seed) throws Exception {
    ModelConfig cfg = ModelConfig.parse(JSON.readTree(configJson), "test config");
    Map<String, long[]> shapes = cfg instanceof LlamaConfig l ? LlamaModel.parameterShapes(l)
        : Gpt2Model.parameterShapes((Gpt2Config) cfg);
    ParamStore ps = ParamStore.allocate(shapes, n -> true, DataType.DOUBLE, DataType.DOUBLE);
    Nd4j.getRandom().setSeed(seed);
    for (Param p : ps.all().values()) {
      INDArray v = Nd4j.randn(DataType.DOUBLE, p.shape()).muli(0.3);
      if (p.shape().length == 1 && p.name().contains("norm") || p.name().contains("ln_")) {
        if (p.name().endsWith("weight")) v.addi(1.0);
      }
      p.set(v);
    }
    return cfg instanceof LlamaConfig l ? new LlamaModel(l, ps) : new Gpt2Model((Gpt2Config) cfg, ps);
  }

  static final Batch BATCH = new Batch(
      new int[][] {{1, 5, 9, 3, 7, 2}, {4, 4, 8, 1, 0, 0}},
      new int[][] {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}},
      new int[][] {{-100, 5, 9, 3, 7, 2}, {4, 4, 8, 1, -100, -100}}, null, null);

  void check(String config, boolean checkpointing) throws Exception {
    CausalLm m = randomModel(config, 11);
    m.setActivationCheckpointing(checkpointing);
    Loss loss = m.forwardBackward(BATCH, 1.0);
    assertEquals(m.loss(BATCH).sum(), loss.sum(), 1e-9);
    Random rnd = new Random(3);
    for (Param p : m.params().all().values()) {
      GradCheck.check(p.name(), p.stored(), p.grad(), () -> m.loss(BATCH).sum(), 6, 1e-5, rnd);
    }
  }

  static final String LLAMA = """
      {"model_type":"llama","vocab_size":11,"hidden_size":8,"intermediate_size":12,
       "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":4,
       "attention_bias":true,"mlp_bias":true,"tie_word_embeddings":true,"rms_norm_eps":1e-5,
       "rope_theta":500000,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
       "high_freq_factor":4.0,"original_max_position_embeddings":16}}""";

  static final String MISTRAL = """
      {"model_type":"mistral","vocab_size":11,"hidden_size":8,"intermediate_size":12,
       "num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":1,"sliding_window":3}""";

  static final String GPT2 = """
      {"model_type":"gpt2","vocab_size":11,"n_embd":8,"n_layer":2,"n_head":2,"n_positions":16}""";

  @Test
  void llamaWithGqaBiasAndTiedHead() throws Exception {
    check(LLAMA, false);
  }

  @Test
  void llamaWithActivationCheckpointing() throws Exception {
    check(LLAMA, true);
  }

  @Test
  void mistralSlidingWindow() throws Exception {
    check(MISTRAL, false);
  }

  @Test
  void gpt2() throws Exception {
    check(GPT2, false);
  }

  @Test
  void gpt2WithActivationCheckpointing() throws Exception {
    check(GPT2, true);
  }
}
