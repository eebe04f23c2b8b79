package io.laketune.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.nn.Param;
import io.laketune.quant.ModelQuantizer;
import io.laketune.quant.QuantType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * QLoRA: LoRA over 4-bit frozen linears trains exactly like LoRA over the dequantised weights in
 * fp32, and the adapter saved from it loads and merges into the dequantised base.
 */
class QLoraTest {
  @TempDir Path tmp;

  @Test
  void qloraEqualsLoraOverTheDequantisedBase() throws Exception {
    LoraConfig cfg = LoraConfig.of(4, 8, List.of(LoraConfig.ALL_LINEAR)).with(false, true, "true");
    ModelQuantizer.Settings nf4 = new ModelQuantizer.Settings(QuantType.NF4, 64, true);
    LoraModel q = LoraModel.create(Fixtures.dir("qwen2"), cfg, DataType.BFLOAT16, nf4, 7);
    LoraModel f = LoraModel.create(Fixtures.dir("qwen2"), cfg, DataType.FLOAT, 7);
    int packed = 0;
    for (Param p : q.model().params().all().values()) {
      if (p.packed() != null) {
        packed++;
        f.model().params().get(p.name()).set(p.value()); // the fp32 twin holds the dequantised weight
      } else if (!p.trainable()) {
        f.model().params().get(p.name()).set(p.value());
      }
    }
    assertEquals(7 * 2, packed, "every linear of both layers is 4-bit");
    f.initialise(7); // DoRA magnitudes from the same (dequantised) weights
    q.initialise(7);
    LoraModelTest.randomiseB(q, 8);
    LoraModelTest.randomiseB(f, 8);
    Batch b = LoraModelTest.batch("qwen2");
    var lq = q.model().forwardBackward(b, 1.0);
    var lf = f.model().forwardBackward(b, 1.0);
    assertEquals(lf.sum(), lq.sum(), 1e-4 * Math.abs(lf.sum()));
    for (String name : q.trainableNames()) {
      Param pq = q.model().params().get(name), pf = f.model().params().get(name);
      assertNotNull(pq.grad(), name);
      double rel = pq.grad().sub(pf.grad()).norm2Number().doubleValue() / pf.grad().norm2Number().doubleValue();
      assertTrue(rel < 1e-4, name + " " + rel);
    }
    Path dir = tmp.resolve("qlora-adapter");
    q.save(dir);
    LoraModel back = LoraModel.load(Fixtures.dir("qwen2"), dir, DataType.BFLOAT16, nf4);
    assertTrue(LoraModelTest.maxDiff(q.model().logits(b), back.model().logits(b)) < 1e-6);
    CausalLm merged = back.mergedModel();
    assertTrue(LoraModelTest.maxDiff(q.model().logits(b), merged.logits(b)) < 1e-4, "merge goes into the dequantised base");
    assertTrue(ModelQuantizer.bytesPerFrozenParameter(q.model().params()) < 2.0);
  }
}
