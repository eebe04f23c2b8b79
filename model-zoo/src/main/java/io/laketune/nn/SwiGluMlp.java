package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The Llama MLP: y = down(silu(gate(x)) * up(x)).
 *
 * <p>Shapes: x [N, C], gate/up outputs [N, I], y [N, C]. Cache: x, g = gate(x), u = up(x).
 */
public final class SwiGluMlp {
  private final Projection gate;
  private final Projection up;
  private final Projection down;

  public SwiGluMlp(Projection gate, Projection up, Projection down) {
    this.gate = gate;
    this.up = up;
    this.down = down;
  }

  public record Cache(INDArray x, INDArray g, INDArray u, INDArray h) {}

  public INDArray forward(INDArray x, Cache[] cacheOut) {
    INDArray g = gate.forward(x);
    INDArray u = up.forward(x);
    INDArray h = Transforms.sigmoid(g, true).muli(g).muli(u);
    if (cacheOut != null) cacheOut[0] = new Cache(x, g, u, h);
    return down.forward(h);
  }

  /** silu'(g) = s(g) (1 + g (1 - s(g))), s the logistic sigmoid. */
  public INDArray backward(INDArray dy, Cache c) {
    INDArray dh = down.backward(dy, c.h);
    INDArray s = Transforms.sigmoid(c.g, true);
    INDArray du = dh.mul(s).muli(c.g); // dh * silu(g)
    INDArray dsilu = s.rsub(1.0).muli(c.g).addi(1.0).muli(s); // silu'(g)
    INDArray dg = dsilu.muli(dh).muli(c.u);
    INDArray dx = gate.backward(dg, c.x);
    dx.addi(up.backward(du, c.x));
    return dx;
  }
}
