package io.laketune.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.io.SafetensorsReader;
import io.laketune.nn.Param;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Frozen parameters get no gradient and stay out of the flat trainable buffer; the gradients of
 * the trainable ones are exactly those of full training.
 */
class FrozenParamsTest {

  @Test
  void partialTrainingMatchesFullTrainingOnTheTrainableSubset() throws Exception {
    Predicate<String> trainable = n -> n.contains("mlp.") || n.equals("model.norm.weight");
    CausalLm full = HfModels.load(Fixtures.dir("qwen2"), HfModels.Options.fullTraining());
    CausalLm part = HfModels.load(Fixtures.dir("qwen2"), new HfModels.Options(DataType.FLOAT, DataType.BFLOAT16, trainable));
    try (SafetensorsReader g = SafetensorsReader.open(Fixtures.dir("qwen2").resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(g);
      full.forwardBackward(batch, 1.0);
      part.forwardBackward(batch, 1.0);
    }
    long expected = 0;
    for (Param p : part.params().all().values()) {
      if (trainable.test(p.name())) {
        expected += p.length();
        // frozen bf16 storage rounds the other weights, so compare loosely here and exactly below
        assertEquals(DataType.FLOAT, p.stored().dataType());
        double rel = p.grad().sub(full.params().get(p.name()).grad()).norm2Number().doubleValue()
            / full.params().get(p.name()).grad().norm2Number().doubleValue();
        assertTrue(rel < 0.05, p.name() + " " + rel);
      } else {
        assertNull(p.grad(), p.name() + " is frozen and must have no gradient");
        assertEquals(DataType.BFLOAT16, p.stored().dataType());
      }
    }
    assertEquals(expected, part.params().trainableCount());

    CausalLm exact = HfModels.load(Fixtures.dir("qwen2"), new HfModels.Options(DataType.FLOAT, DataType.FLOAT, trainable));
    try (SafetensorsReader g = SafetensorsReader.open(Fixtures.dir("qwen2").resolve("golden.safetensors"))) {
      exact.forwardBackward(Fixtures.batch(g), 1.0);
    }
    for (String name : exact.params().trainableNames()) {
      assertEquals(0.0, exact.params().get(name).grad().sub(full.params().get(name).grad()).amaxNumber().doubleValue(),
          1e-6, name);
    }
  }
}
