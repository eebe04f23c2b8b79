package io.laketune.train;

import java.io.Serializable;

/**
 * The treeAggregate accumulator of a parameters-mode round: sums of the workers' parameters and
 * AdamW moments after their local steps (the driver divides by the worker count), with their loss
 * sums and token counts.
 */
final class LocalSum implements Serializable {
  float[] values;
  float[] m;
  float[] v;
  int workers;
  double lossSum;
  long tokens;
  long computeMillis;
  long skipped;

  LocalSum add(float[] values, float[] m, float[] v, double loss, long count, long millis, long skippedSteps) {
    this.values = plus(this.values, values);
    this.m = plus(this.m, m);
    this.v = plus(this.v, v);
    workers++;
    lossSum += loss;
    tokens += count;
    computeMillis = Math.max(computeMillis, millis);
    skipped += skippedSteps;
    return this;
  }

  LocalSum merge(LocalSum o) {
    if (o.values != null) {
      values = plus(values, o.values);
      m = plus(m, o.m);
      v = plus(v, o.v);
    }
    workers += o.workers;
    lossSum += o.lossSum;
    tokens += o.tokens;
    computeMillis = Math.max(computeMillis, o.computeMillis);
    skipped += o.skipped;
    return this;
  }

  private static float[] plus(float[] acc, float[] x) {
    if (acc == null) return x.clone();
    for (int i = 0; i < x.length; i++) acc[i] += x[i];
    return acc;
  }
}
