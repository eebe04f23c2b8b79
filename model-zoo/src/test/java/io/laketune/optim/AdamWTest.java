package io.laketune.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.io.SafetensorsReader;
import io.laketune.model.Fixtures;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** AdamW against torch.optim.AdamW steps recorded by make_fixtures.py; clipping and schedules. */
class AdamWTest {

  @ParameterizedTest
  @ValueSource(strings = {"golden.safetensors", "golden_wd0.safetensors"})
  void matchesTorchAdamW(String file) throws Exception {
    try (SafetensorsReader g = SafetensorsReader.open(Fixtures.dir("adamw").resolve(file))) {
      Map<String, String> meta = g.metadata();
      double lr = Double.parseDouble(meta.get("lr"));
      AdamW.Hyper hyper = new AdamW.Hyper(Double.parseDouble(meta.get("beta1")),
          Double.parseDouble(meta.get("beta2")), Double.parseDouble(meta.get("eps")),
          Double.parseDouble(meta.get("weight_decay")));
      INDArray p0 = g.read("param0.0", DataType.FLOAT).reshape(-1);
      INDArray p1 = g.read("param0.1", DataType.FLOAT).reshape(-1);
      INDArray flat = Nd4j.concat(0, p0, p1);
      AdamW opt = new AdamW(flat, hyper);
      for (int s = 1; s <= 3; s++) {
        INDArray grads = Nd4j.concat(0, g.read("grad" + s + ".0", DataType.FLOAT).reshape(-1),
            g.read("grad" + s + ".1", DataType.FLOAT).reshape(-1));
        opt.step(flat, grads, lr);
        INDArray want = Nd4j.concat(0, g.read("param" + s + ".0", DataType.FLOAT).reshape(-1),
            g.read("param" + s + ".1", DataType.FLOAT).reshape(-1));
        double err = flat.sub(want).amaxNumber().doubleValue();
        assertTrue(err < 1e-6, file + " step " + s + ": parameters differ by " + err);
      }
      INDArray m = Nd4j.concat(0, g.read("exp_avg.0", DataType.FLOAT).reshape(-1), g.read("exp_avg.1", DataType.FLOAT).reshape(-1));
      INDArray v = Nd4j.concat(0, g.read("exp_avg_sq.0", DataType.FLOAT).reshape(-1), g.read("exp_avg_sq.1", DataType.FLOAT).reshape(-1));
      assertTrue(opt.expAvg().sub(m).amaxNumber().doubleValue() < 1e-7, "exp_avg");
      assertTrue(opt.expAvgSq().sub(v).amaxNumber().doubleValue() < 1e-9, "exp_avg_sq");
      assertEquals(3, opt.stepCount());
    }
  }

  @Test
  void groupsScaleLearningRateAndSkipDecay() {
    INDArray p = Nd4j.createFromArray(1f, 1f, 1f, 1f);
    INDArray g = Nd4j.createFromArray(0f, 0f, 1f, 1f);
    AdamW opt = new AdamW(p, new AdamW.Hyper(0.9, 0.999, 1e-8, 0.5),
        List.of(new AdamW.Group(0, 1, 1.0, true), new AdamW.Group(1, 2, 1.0, false), new AdamW.Group(2, 4, 16.0, true)));
    opt.step(p, g, 0.01);
    assertEquals(1 - 0.01 * 0.5, p.getDouble(0), 1e-7, "decay only");
    assertEquals(1.0, p.getDouble(1), 0.0, "no decay, zero grad: unchanged");
    // first step: m/(sqrt(v)+eps) after bias correction = 1, so the move is the group's lr
    assertEquals((1 - 0.16 * 0.5) - 0.16, p.getDouble(2), 1e-6, "lr x16 group");
  }

  @Test
  void clipGradNormLikeTorch() {
    INDArray g = Nd4j.createFromArray(3f, 4f);
    double norm = AdamW.clipGradNorm(g, 1.0);
    assertEquals(5.0, norm, 1e-6);
    assertEquals(3.0 / (5.0 + 1e-6), g.getDouble(0), 1e-6);
    INDArray small = Nd4j.createFromArray(0.3f, 0.4f);
    AdamW.clipGradNorm(small, 1.0);
    assertEquals(0.3, small.getDouble(0), 1e-7, "below the limit: untouched");
  }

  @Test
  void schedulesFollowHf() {
    LrSchedule cos = new LrSchedule(LrSchedule.Kind.COSINE, 1.0, 10, 110);
    assertEquals(0.0, cos.at(0), 0);
    assertEquals(0.5, cos.at(5), 1e-12);
    assertEquals(1.0, cos.at(10), 1e-12);
    assertEquals(0.5, cos.at(60), 1e-12);
    assertEquals(0.0, cos.at(110), 1e-12);
    LrSchedule lin = new LrSchedule(LrSchedule.Kind.LINEAR, 2.0, 0, 100);
    assertEquals(2.0, lin.at(0), 1e-12);
    assertEquals(1.0, lin.at(50), 1e-12);
    assertEquals(0.0, lin.at(150), 1e-12);
    assertEquals(0.3, new LrSchedule(LrSchedule.Kind.CONSTANT, 0.3, 0, 10).at(99), 0);
  }
}
