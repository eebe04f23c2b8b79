package io.laketune.train;

import java.io.Serializable;

/**
 * The treeAggregate accumulator of a gradients-mode round: the sum over workers of gradients of
 * summed token losses, the loss sum and the labelled-token count (so the driver forms the global
 * token-weighted mean exactly), and the slowest worker's compute time, with the wall-clock times
 * the last worker started and ended (for the round's breakdown of its sync time). The gradient array
 * is made on first use, so the zero value that Spark ships to every partition is tiny.
 */
final class GradientSum implements Serializable {
  float[] grad;
  double lossSum;
  long tokens;
  long computeMillis;
  long lastStart;
  long lastEnd;

  /** One worker's gradient, loss and count, computed in the wall-clock interval [start, end] (ms). */
  GradientSum add(float[] g, double loss, long count, long start, long end) {
    addGrad(g);
    lossSum += loss;
    tokens += count;
    computeMillis = Math.max(computeMillis, end - start);
    lastStart = Math.max(lastStart, start);
    lastEnd = Math.max(lastEnd, end);
    return this;
  }

  private void addGrad(float[] g) {
    if (grad == null) grad = g.clone();
    else for (int i = 0; i < g.length; i++) grad[i] += g[i];
  }

  GradientSum merge(GradientSum o) {
    if (o.grad != null) addGrad(o.grad);
    lossSum += o.lossSum;
    tokens += o.tokens;
    computeMillis = Math.max(computeMillis, o.computeMillis);
    lastStart = Math.max(lastStart, o.lastStart);
    lastEnd = Math.max(lastEnd, o.lastEnd);
    return this;
  }
}
