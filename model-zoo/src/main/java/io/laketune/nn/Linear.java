package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * y = x W^T + b, with W stored [out, in] (torch.nn.Linear), or y = x W + b with W stored [in, out]
 * ({@code fanInFanOut}: GPT-2's Conv1D).
 *
 * <p>Shapes: x [N, in], y [N, out]. The forward cache is x itself, which the caller keeps.
 * Backward adds dW and db into the parameter gradients when they are trainable and returns dx.
 */
public final class Linear implements Projection {
  private final Param weight;
  private final Param bias;
  private final boolean fanInFanOut;

  public Linear(Param weight, Param bias, boolean fanInFanOut) {
    this.weight = weight;
    this.bias = bias;
    this.fanInFanOut = fanInFanOut;
  }

  public Param weight() {
    return weight;
  }

  public Param bias() {
    return bias;
  }

  public boolean fanInFanOut() {
    return fanInFanOut;
  }

  public long inFeatures() {
    return weight.shape()[fanInFanOut ? 0 : 1];
  }

  public long outFeatures() {
    return weight.shape()[fanInFanOut ? 1 : 0];
  }

  /** The HF module name, e.g. {@code model.layers.0.self_attn.q_proj}. */
  public String moduleName() {
    String n = weight.name();
    return n.endsWith(".weight") ? n.substring(0, n.length() - ".weight".length()) : n;
  }

  @Override
  public INDArray forward(INDArray x) {
    long t = OpProfile.start();
    INDArray y = Nd4j.create(x.dataType(), x.rows(), outFeatures());
    Nd4j.gemm(x, weight.value(), y, false, !fanInFanOut, 1.0, 0.0);
    if (bias != null) y.addiRowVector(bias.value());
    OpProfile.stop(OpProfile.Kind.GEMM, t);
    return y;
  }

  /** Returns dx [N, in]; adds dW, db. */
  @Override
  public INDArray backward(INDArray dy, INDArray x) {
    long t = OpProfile.start();
    INDArray w = weight.value();
    if (weight.trainable()) {
      if (fanInFanOut) Nd4j.gemm(x, dy, weight.grad(), true, false, 1.0, 1.0); // dW[in,out] += x^T dy
      else Nd4j.gemm(dy, x, weight.grad(), true, false, 1.0, 1.0); // dW[out,in] += dy^T x
    }
    if (bias != null && bias.trainable()) bias.grad().addi(dy.sum(0));
    INDArray dx = Nd4j.create(dy.dataType(), dy.rows(), inFeatures());
    Nd4j.gemm(dy, w, dx, false, fanInFanOut, 1.0, 0.0);
    OpProfile.stop(OpProfile.Kind.GEMM, t);
    return dx;
  }
}
