package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * RMSNorm as in HF LlamaRMSNorm: y = w * x / sqrt(mean(x^2) + eps), statistics over C.
 *
 * <p>Shapes: x [N, C], w [C]. Cache: x and rstd [N, 1].
 */
public final class RmsNorm {
  private final Param weight;
  private final double eps;

  public RmsNorm(Param weight, double eps) {
    this.weight = weight;
    this.eps = eps;
  }

  public record Cache(INDArray x, INDArray rstd) {}

  public INDArray forward(INDArray x, Cache[] cacheOut) {
    INDArray w = weight.value();
    if (FloatKernels.dense(x, w)) {
      INDArray y = Nd4j.create(x.dataType(), x.shape());
      INDArray rs = Nd4j.create(x.dataType(), x.rows(), 1);
      FloatKernels.rmsNorm(FloatKernels.buffer(x), FloatKernels.buffer(w), eps, FloatKernels.buffer(y),
          FloatKernels.buffer(rs), (int) x.rows(), (int) x.columns());
      if (cacheOut != null) cacheOut[0] = new Cache(x, rs);
      return y;
    }
    INDArray rstd = x.mul(x).mean(true, 1).addi(eps);
    rstd = Transforms.pow(rstd, -0.5, false);
    INDArray y = x.mulColumnVector(rstd).muliRowVector(w);
    if (cacheOut != null) cacheOut[0] = new Cache(x, rstd);
    return y;
  }

  /** dx = rstd * (w*dy - xhat * mean(w*dy*xhat)); dW += sum_n dy * xhat. */
  public INDArray backward(INDArray dy, Cache cache) {
    INDArray dw = weight.trainable() ? weight.grad() : null, w = weight.value();
    if (FloatKernels.dense(dy, cache.x, w, dw)) {
      INDArray dx = Nd4j.create(dy.dataType(), dy.shape());
      FloatKernels.rmsNormBackward(FloatKernels.buffer(cache.x), FloatKernels.buffer(w),
          FloatKernels.buffer(cache.rstd), FloatKernels.buffer(dy), FloatKernels.buffer(dx),
          dw == null ? null : FloatKernels.buffer(dw), (int) dy.rows(), (int) dy.columns());
      return dx;
    }
    INDArray xhat = cache.x.mulColumnVector(cache.rstd);
    if (weight.trainable()) weight.grad().addi(dy.mul(xhat).sum(0));
    INDArray g = dy.mulRowVector(weight.value());
    INDArray dot = g.mul(xhat).mean(true, 1);
    return g.subi(xhat.muliColumnVector(dot)).muliColumnVector(cache.rstd);
  }
}
