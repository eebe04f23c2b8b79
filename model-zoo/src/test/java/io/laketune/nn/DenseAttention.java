package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The oracle for {@link CausalSelfAttention}: the dense formulation it replaced, which materialises
 * the [B, H, T, T] scores and probabilities (HF's eager attention):
 * P = softmax(Q K^T * scale + bias), O = P V. Projections and RoPE live outside.
 *
 * <p>Shapes: q [N, H*D], k and v [N, Hkv*D] with N = B*T (rows b-major); bias [B, 1, T, T];
 * output [N, H*D]. Query head h reads key/value head h / (H / Hkv). The cache keeps q, k, v as
 * [B, H|Hkv, T, D] and the probabilities P [B, H, T, T] for the backward pass.
 */
final class DenseAttention {
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final double scale;

  DenseAttention(int heads, int kvHeads, int headDim, double scale) {
    if (heads % kvHeads != 0) {
      throw new IllegalArgumentException("num_attention_heads (" + heads
          + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
    }
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.scale = scale;
  }

  public record Cache(INDArray q, INDArray k, INDArray v, INDArray probs, int batch, int time) {}

  /** [N, heads*D] → [B, heads, T, D], contiguous. */
  private static INDArray toHeads(INDArray x, int batch, int time, int heads, int headDim) {
    return x.reshape('c', batch, time, heads, headDim).permute(0, 2, 1, 3).dup('c');
  }

  /** [B, heads, T, D] → [N, heads*D], contiguous. */
  private static INDArray fromHeads(INDArray x, int batch, int time, int heads, int headDim) {
    return x.permute(0, 2, 1, 3).dup('c').reshape('c', (long) batch * time, (long) heads * headDim);
  }

  private static INDArray slice(INDArray x4, int b, int h) {
    return x4.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.all(), NDArrayIndex.all());
  }

  public INDArray forward(INDArray q2, INDArray k2, INDArray v2, int batch, int time, INDArray bias,
      Cache[] cacheOut) {
    INDArray q = toHeads(q2, batch, time, heads, headDim);
    INDArray k = toHeads(k2, batch, time, kvHeads, headDim);
    INDArray v = toHeads(v2, batch, time, kvHeads, headDim);
    INDArray scores = Nd4j.create(q.dataType(), batch, heads, time, time);
    int group = heads / kvHeads;
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        Nd4j.gemm(slice(q, b, h), slice(k, b, h / group), slice(scores, b, h), false, true, scale, 0.0);
      }
    }
    scores.addi(bias);
    INDArray probs2 = scores.reshape('c', (long) batch * heads * time, time);
    Nd4j.exec(new SoftMax(probs2, probs2, 1));
    CrossEntropy.flushTiny(probs2);
    INDArray out = Nd4j.create(q.dataType(), batch, heads, time, headDim);
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        Nd4j.gemm(slice(scores, b, h), slice(v, b, h / group), slice(out, b, h), false, false, 1.0, 0.0);
      }
    }
    if (cacheOut != null) cacheOut[0] = new Cache(q, k, v, scores, batch, time);
    return fromHeads(out, batch, time, heads, headDim);
  }

  /** The gradients with respect to q, k and v in their 2-D layouts. */
  public record Grads(INDArray dq, INDArray dk, INDArray dv) {}

  /**
   * dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dP * P)); dQ = scale dS K; dK = scale dS^T Q.
   * Key/value gradients of a shared head accumulate over its query group.
   */
  public Grads backward(INDArray dOut2, Cache c) {
    int batch = c.batch, time = c.time, group = heads / kvHeads;
    INDArray dOut = toHeads(dOut2, batch, time, heads, headDim);
    INDArray dq = Nd4j.create(dOut.dataType(), batch, heads, time, headDim);
    INDArray dk = Nd4j.zeros(dOut.dataType(), batch, kvHeads, time, headDim);
    INDArray dv = Nd4j.zeros(dOut.dataType(), batch, kvHeads, time, headDim);
    INDArray dp = Nd4j.create(dOut.dataType(), batch, heads, time, time);
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        INDArray p = slice(c.probs, b, h);
        INDArray dO = slice(dOut, b, h);
        Nd4j.gemm(p, dO, slice(dv, b, h / group), true, false, 1.0, 1.0);
        Nd4j.gemm(dO, slice(c.v, b, h / group), slice(dp, b, h), false, true, 1.0, 0.0);
      }
    }
    INDArray p2 = c.probs.reshape('c', (long) batch * heads * time, time);
    INDArray dp2 = dp.reshape('c', (long) batch * heads * time, time);
    INDArray rowDot = dp2.mul(p2).sum(true, 1);
    INDArray ds = dp2.subiColumnVector(rowDot).muli(p2).reshape('c', batch, heads, time, time);
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        INDArray dS = slice(ds, b, h);
        Nd4j.gemm(dS, slice(c.k, b, h / group), slice(dq, b, h), false, false, scale, 0.0);
        Nd4j.gemm(dS, slice(c.q, b, h), slice(dk, b, h / group), true, false, scale, 1.0);
      }
    }
    return new Grads(fromHeads(dq, batch, time, heads, headDim),
        fromHeads(dk, batch, time, kvHeads, headDim), fromHeads(dv, batch, time, kvHeads, headDim));
  }
}
