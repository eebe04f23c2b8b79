package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The GPT-2 MLP: y = proj(gelu_new(fc(x))), gelu_new(a) = a/2 (1 + tanh(k (a + 0.044715 a^3))),
 * k = sqrt(2/pi) — HF's NewGELUActivation (the tanh approximation).
 *
 * <p>Shapes: x [N, C], a = fc(x) [N, I], y [N, C]. Cache: x, a, h = gelu_new(a).
 */
public final class GeluMlp {
  private static final double K = Math.sqrt(2.0 / Math.PI);
  private static final double C3 = 0.044715;

  private final Projection fc;
  private final Projection proj;

  public GeluMlp(Projection fc, Projection proj) {
    this.fc = fc;
    this.proj = proj;
  }

  public record Cache(INDArray x, INDArray a, INDArray h) {}

  public INDArray forward(INDArray x, Cache[] cacheOut) {
    INDArray a = fc.forward(x);
    INDArray h = geluNew(a);
    if (cacheOut != null) cacheOut[0] = new Cache(x, a, h);
    return proj.forward(h);
  }

  static INDArray geluNew(INDArray a) {
    INDArray inner = a.mul(a).muli(a).muli(C3).addi(a).muli(K);
    return Transforms.tanh(inner, false).addi(1.0).muli(a).muli(0.5);
  }

  /** d gelu_new / da = (1 + t)/2 + a/2 (1 - t^2) k (1 + 3 * 0.044715 a^2), t = tanh(inner). */
  public INDArray backward(INDArray dy, Cache c) {
    INDArray dh = proj.backward(dy, c.h);
    INDArray a = c.a;
    INDArray a2 = a.mul(a);
    INDArray t = Transforms.tanh(a2.mul(a).muli(C3).addi(a).muli(K), false);
    INDArray dInner = a2.muli(3 * C3).addi(1.0).muli(K);
    INDArray sech2 = t.mul(t).rsubi(1.0);
    INDArray grad = sech2.muli(dInner).muli(a).muli(0.5).addi(t.addi(1.0).muli(0.5));
    return fc.backward(dh.muli(grad), c.x);
  }
}
