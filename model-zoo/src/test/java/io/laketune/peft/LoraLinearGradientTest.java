package io.laketune.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.laketune.nn.GradCheck;
import io.laketune.nn.Linear;
import io.laketune.nn.Param;
import io.laketune.nn.ParamStore;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** LoRA and DoRA backward against finite differences in double, with dropout and Conv1D layout. */
class LoraLinearGradientTest {
  static final DataType D = DataType.DOUBLE;

  @ParameterizedTest
  @CsvSource({"false,false,0.0", "false,true,0.0", "true,false,0.0", "true,true,0.0", "false,false,0.3", "true,true,0.3"})
  void matchesFiniteDifferences(boolean dora, boolean fifo, double dropout) {
    int in = 5, out = 4, r = 2, n = 3;
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("m.weight", fifo ? new long[] {in, out} : new long[] {out, in});
    shapes.put("m.bias", new long[] {out});
    shapes.put("m.lora_A.weight", new long[] {r, in});
    shapes.put("m.lora_B.weight", new long[] {out, r});
    shapes.put("m.lora_magnitude_vector", new long[] {out});
    ParamStore ps = ParamStore.allocate(shapes, name -> !name.equals("m.weight"), D, D);
    Nd4j.getRandom().setSeed(3);
    for (Param p : ps.all().values()) p.set(Nd4j.randn(D, p.shape()).muli(0.7).addi(p.name().contains("magnitude") ? 2 : 0));
    AdapterState state = new AdapterState();
    state.train(42);
    LoraLinear l = new LoraLinear(new Linear(ps.get("m.weight"), ps.get("m.bias"), fifo), ps.get("m.lora_A.weight"),
        ps.get("m.lora_B.weight"), dora ? ps.get("m.lora_magnitude_vector") : null, 1.5, dropout, 0, state);
    INDArray x = Nd4j.randn(D, n, in), probe = Nd4j.randn(D, n, out);
    INDArray dx = l.backward(probe, x);
    Random rnd = new Random(1);
    java.util.function.DoubleSupplier f = () -> l.forward(x).mul(probe).sumNumber().doubleValue();
    GradCheck.check("dx", x, dx, f, 15, 1e-6, rnd);
    // DoRA's row norm depends on A and B but PEFT detaches it, so its A/B gradients are not the
    // total derivative a finite difference sees; they are checked against PEFT's autograd in PeftParityTest.
    String[] checked = dora ? new String[] {"m.bias"} : new String[] {"m.lora_A.weight", "m.lora_B.weight", "m.bias"};
    for (String name : checked) {
      GradCheck.check(name, ps.get(name).stored(), ps.get(name).grad(), f, 10, 1e-6, rnd);
    }
    if (dora) {
      GradCheck.check("magnitude", ps.get("m.lora_magnitude_vector").stored(), ps.get("m.lora_magnitude_vector").grad(),
          () -> l.forward(x).mul(probe).sumNumber().doubleValue(), 4, 1e-6, rnd);
    }
    // Merge gives the same outputs (dropout off), unmerge restores the base exactly enough.
    state.eval();
    INDArray before = l.forward(x);
    INDArray w0 = ps.get("m.weight").stored().dup();
    l.merge();
    assertEquals(0.0, l.forward(x).sub(before).amaxNumber().doubleValue(), 1e-12);
    l.unmerge();
    assertEquals(0.0, ps.get("m.weight").stored().sub(w0).amaxNumber().doubleValue(), 1e-12);
  }
}
