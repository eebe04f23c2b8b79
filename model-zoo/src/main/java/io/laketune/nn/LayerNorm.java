package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * LayerNorm (torch.nn.LayerNorm, biased variance): y = w * (x - mean) / sqrt(var + eps) + b.
 *
 * <p>Shapes: x [N, C], w and b [C]. Cache: xhat [N, C] and rstd [N, 1].
 */
public final class LayerNorm {
  private final Param weight;
  private final Param bias;
  private final double eps;

  public LayerNorm(Param weight, Param bias, double eps) {
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
  }

  public record Cache(INDArray xhat, INDArray rstd) {}

  public INDArray forward(INDArray x, Cache[] cacheOut) {
    INDArray centered = x.subColumnVector(x.mean(true, 1));
    INDArray rstd = Transforms.pow(centered.mul(centered).mean(true, 1).addi(eps), -0.5, false);
    INDArray xhat = centered.muliColumnVector(rstd);
    INDArray y = xhat.mulRowVector(weight.value()).addiRowVector(bias.value());
    if (cacheOut != null) cacheOut[0] = new Cache(xhat, rstd);
    return y;
  }

  /** dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w. */
  public INDArray backward(INDArray dy, Cache cache) {
    INDArray xhat = cache.xhat;
    if (weight.trainable()) weight.grad().addi(dy.mul(xhat).sum(0));
    if (bias.trainable()) bias.grad().addi(dy.sum(0));
    INDArray g = dy.mulRowVector(weight.value());
    INDArray meanG = g.mean(true, 1);
    INDArray meanGx = g.mul(xhat).mean(true, 1);
    return g.subiColumnVector(meanG).subi(xhat.mulColumnVector(meanGx)).muliColumnVector(cache.rstd);
  }
}
