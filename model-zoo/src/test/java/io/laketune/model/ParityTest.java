package io.laketune.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.io.SafetensorsReader;
import io.laketune.nn.Param;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Logits, loss, every parameter gradient and greedy decoding against the float64 reference of
 * make_fixtures.py (which mirrors transformers' modeling code), for each supported family.
 */
class ParityTest {

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama3", "mistral", "qwen2", "llama_bias", "gpt2", "llama_bf16"})
  void matchesReference(String name) throws Exception {
    check(name, 0);
  }

  /** The same with attention tiles of 3 positions, so that every tile border is crossed. */
  @ParameterizedTest
  @ValueSource(strings = {"llama", "mistral", "gpt2"})
  void matchesReferenceWithSmallAttentionTiles(String name) throws Exception {
    check(name, 3);
  }

  static void setAttentionBlock(CausalLm model, int block) {
    if (model instanceof LlamaModel m) m.setAttentionBlock(block);
    else if (model instanceof Gpt2Model m) m.setAttentionBlock(block);
    else throw new IllegalArgumentException(model.getClass().getName());
  }

  private static void check(String name, int block) throws Exception {
    Path dir = Fixtures.dir(name);
    CausalLm model = HfModels.load(dir, HfModels.Options.fullTraining());
    if (block > 0) setAttentionBlock(model, block);
    try (SafetensorsReader golden = SafetensorsReader.open(dir.resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(golden);
      INDArray expectedLogits = golden.read("logits", DataType.FLOAT);
      INDArray logits = model.logits(batch).reshape(expectedLogits.shape());
      double logitErr = logits.sub(expectedLogits).amaxNumber().doubleValue();
      assertTrue(logitErr <= 1e-4, name + ": logits differ by " + logitErr);

      double expectedLoss = golden.read("loss", DataType.DOUBLE).getDouble(0);
      model.params().zeroGrads();
      Loss first = model.loss(batch);
      Loss loss = model.forwardBackward(batch, 1.0 / first.count());
      assertEquals(expectedLoss, loss.mean(), 1e-5 * Math.abs(expectedLoss), name + ": loss");

      for (Param p : model.params().all().values()) {
        INDArray want = golden.read("grad." + p.name(), DataType.FLOAT);
        double rel = p.grad().sub(want).norm2Number().doubleValue() / want.norm2Number().doubleValue();
        assertTrue(rel <= 1e-4, name + ": gradient of " + p.name() + " differs, relative " + rel);
      }

      int[] prompt = Fixtures.ints(golden, "gen.prompt")[0];
      int[] expected = Fixtures.ints(golden, "gen.greedy")[0];
      int[] got = Generator.generate(model, prompt, expected.length, new Sampler(0, 0, 1.0, 0), null, null);
      assertArrayEquals(expected, got, name + ": KV-cache greedy decoding");
    }
  }
}
