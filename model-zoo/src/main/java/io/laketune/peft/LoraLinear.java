package io.laketune.peft;

import io.laketune.nn.Linear;
import io.laketune.nn.OpProfile;
import io.laketune.nn.Param;
import io.laketune.nn.Projection;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A frozen linear layer with a LoRA (or DoRA) adapter, PEFT's forward:
 *
 * <pre>
 *   LoRA: y = base(x) + s * (drop(x) A^T) B^T
 *   DoRA: y = base(x) + (g - 1) * (x W^T) + g * s * (drop(x) A^T) B^T,  g = m / ||W + s B A||_row
 * </pre>
 *
 * with s the scaling, m the magnitude vector and the row norm treated as a constant (detached) as
 * in PEFT's dora.py. Shapes: x [N, in], A [r, in], B [out, r], W [out, in] (stored [in, out] for
 * Conv1D), m [out].
 *
 * <p>Dropout masks come from {@link AdapterState}: a pure function of (step seed, layer), so the
 * recompute of an activation-checkpointed block sees the same mask, and a rerun the same stream.
 */
public final class LoraLinear implements Projection {
  private final Linear base;
  private final Param a;
  private final Param b;
  private final Param magnitude;
  private final double scaling;
  private final double dropout;
  private final int layerId;
  private final AdapterState state;
  private INDArray mergedNorm;
  private boolean merged;

  LoraLinear(Linear base, Param a, Param b, Param magnitude, double scaling, double dropout,
      int layerId, AdapterState state) {
    this.base = base;
    this.a = a;
    this.b = b;
    this.magnitude = magnitude;
    this.scaling = scaling;
    this.dropout = dropout;
    this.layerId = layerId;
    this.state = state;
  }

  public Linear base() {
    return base;
  }

  /** drop(x): inverted dropout with the step's mask in training, x otherwise. */
  private INDArray dropped(INDArray x) {
    if (dropout == 0 || !state.training()) return x;
    return x.mul(state.dropoutMask(layerId, x.shape(), dropout, x.dataType()));
  }

  /** W as [out, in], whatever the storage layout. */
  private INDArray weightOutIn() {
    INDArray w = base.weight().value();
    return base.fanInFanOut() ? w.transpose() : w;
  }

  /** ||W + s B A|| per output row, [out]: a constant for the gradient, as PEFT detaches it. */
  private INDArray doraNorm() {
    return mergedWeightWithoutMagnitude().norm2(1);
  }

  /** g = m / norm, [1, out]. */
  private INDArray doraScale(INDArray norm) {
    return magnitude.value().div(norm).reshape(1, norm.length());
  }

  @Override
  public INDArray forward(INDArray x) {
    if (merged) return base.forward(x);
    long t = OpProfile.start();
    INDArray xd = dropped(x);
    INDArray h = Nd4j.create(x.dataType(), x.rows(), a.shape()[0]);
    Nd4j.gemm(xd, a.value(), h, false, true, 1.0, 0.0);
    if (magnitude == null) { // y = base(x), then y += s h B^T in the same GEMM
      INDArray y = base.forward(x);
      Nd4j.gemm(h, b.value(), y, false, true, scaling, 1.0);
      OpProfile.stop(OpProfile.Kind.ADAPTER, t);
      return y;
    }
    INDArray lora = Nd4j.create(x.dataType(), x.rows(), b.shape()[0]);
    Nd4j.gemm(h, b.value(), lora, false, true, scaling, 0.0);
    INDArray g = doraScale(doraNorm());
    INDArray xw = plainProduct(xd);
    INDArray y = base.forward(x).addi(xw.muliRowVector(g.sub(1.0))).addi(lora.muliRowVector(g));
    OpProfile.stop(OpProfile.Kind.ADAPTER, t);
    return y;
  }

  /** x W^T without bias. */
  private INDArray plainProduct(INDArray x) {
    INDArray out = Nd4j.create(x.dataType(), x.rows(), base.outFeatures());
    Nd4j.gemm(x, base.weight().value(), out, false, !base.fanInFanOut(), 1.0, 0.0);
    return out;
  }

  @Override
  public INDArray backward(INDArray dy, INDArray x) {
    if (merged) throw new IllegalStateException("adapter of " + base.moduleName() + " is merged; unmerge it to train");
    long t = OpProfile.start();
    INDArray xd = dropped(x);
    INDArray h = Nd4j.create(x.dataType(), x.rows(), a.shape()[0]);
    Nd4j.gemm(xd, a.value(), h, false, true, 1.0, 0.0);
    INDArray dLora = dy;
    INDArray dx;
    if (magnitude == null) {
      dx = base.backward(dy, x);
    } else {
      INDArray norm = doraNorm();
      INDArray g = doraScale(norm);
      if (magnitude.trainable()) {
        // y depends on m through g = m / norm: dL/dm = sum_n dy * (x_d W^T + s lora) / norm
        INDArray lora = Nd4j.create(x.dataType(), x.rows(), b.shape()[0]);
        Nd4j.gemm(h, b.value(), lora, false, true, scaling, 0.0);
        magnitude.grad().addi(plainProduct(xd).addi(lora).muli(dy).sum(0).divi(norm));
      }
      // The base path is scaled by g (1 + (g - 1)) on the undropped x; the bias is not.
      INDArray dyScaled = dy.mulRowVector(g);
      if (dropout == 0 || !state.training()) {
        dx = Nd4j.create(dy.dataType(), dy.rows(), base.inFeatures());
        Nd4j.gemm(dyScaled, base.weight().value(), dx, false, base.fanInFanOut(), 1.0, 0.0);
      } else {
        // base(x) on x, (g - 1) x_d W^T on the dropped x
        dx = Nd4j.create(dy.dataType(), dy.rows(), base.inFeatures());
        Nd4j.gemm(dy, base.weight().value(), dx, false, base.fanInFanOut(), 1.0, 0.0);
        INDArray dxd = Nd4j.create(dy.dataType(), dy.rows(), base.inFeatures());
        Nd4j.gemm(dy.mulRowVector(g.sub(1.0)), base.weight().value(), dxd, false, base.fanInFanOut(), 1.0, 0.0);
        dx.addi(undrop(dxd, x));
      }
      if (base.bias() != null && base.bias().trainable()) base.bias().grad().addi(dy.sum(0));
      dLora = dyScaled;
    }
    // lora = s * h B^T: dB += s dLora^T h; dh = s dLora B; dA += dh^T xd; dxd = dh A
    if (b.trainable()) Nd4j.gemm(dLora, h, b.grad(), true, false, scaling, 1.0);
    INDArray dh = Nd4j.create(dy.dataType(), dy.rows(), a.shape()[0]);
    Nd4j.gemm(dLora, b.value(), dh, false, false, scaling, 0.0);
    if (a.trainable()) Nd4j.gemm(dh, xd, a.grad(), true, false, 1.0, 1.0);
    if (dropout == 0 || !state.training()) {
      Nd4j.gemm(dh, a.value(), dx, false, false, 1.0, 1.0); // dx += dh A
    } else {
      INDArray dxd = Nd4j.create(dy.dataType(), dy.rows(), base.inFeatures());
      Nd4j.gemm(dh, a.value(), dxd, false, false, 1.0, 0.0);
      dx.addi(undrop(dxd, x));
    }
    OpProfile.stop(OpProfile.Kind.ADAPTER, t);
    return dx;
  }

  /** The gradient through drop(): the same mask again. */
  private INDArray undrop(INDArray dxd, INDArray x) {
    if (dropout == 0 || !state.training()) return dxd;
    return dxd.muli(state.dropoutMask(layerId, x.shape(), dropout, x.dataType()));
  }

  public boolean merged() {
    return merged;
  }

  /**
   * Folds the adapter into the base weight in place (PEFT's merge): the layer then costs one
   * GEMM. {@link #unmerge} restores the base weight; with a narrow base storage (bf16, 4-bit) the
   * round trip rounds, so merge those through {@link LoraModel#mergedModel} instead.
   */
  public void merge() {
    if (merged) return;
    INDArray w = mergedWeightWithoutMagnitude();
    if (magnitude != null) {
      mergedNorm = w.norm2(1);
      w.muliColumnVector(magnitude.value().div(mergedNorm).reshape(mergedNorm.length(), 1));
    }
    base.weight().set(base.fanInFanOut() ? w.transpose().dup('c') : w);
    merged = true;
  }

  /** Subtracts the adapter from the base weight again (PEFT's unmerge). */
  public void unmerge() {
    if (!merged) return;
    INDArray w = weightOutIn().dup('c');
    if (magnitude != null) w.muliColumnVector(mergedNorm.div(magnitude.value()).reshape(mergedNorm.length(), 1));
    Nd4j.gemm(b.value(), a.value(), w, false, false, -scaling, 1.0);
    base.weight().set(base.fanInFanOut() ? w.transpose().dup('c') : w);
    merged = false;
  }

  /** W + s B A as [out, in]. */
  INDArray mergedWeightWithoutMagnitude() {
    INDArray merged = weightOutIn().dup('c');
    Nd4j.gemm(b.value(), a.value(), merged, false, false, scaling, 1.0);
    return merged;
  }

  /**
   * The weight with the adapter folded in, [out, in] (or [in, out] for Conv1D):
   * W + s B A, or for DoRA (m / ||W + s B A||_row) (W + s B A).
   */
  public INDArray mergedWeight() {
    INDArray merged = mergedWeightWithoutMagnitude();
    if (magnitude != null) {
      INDArray norm = merged.norm2(1);
      merged.muliColumnVector(magnitude.value().div(norm).reshape(norm.length(), 1));
    }
    return base.fanInFanOut() ? merged.transpose().dup('c') : merged;
  }
}
