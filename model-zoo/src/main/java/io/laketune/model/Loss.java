package io.laketune.model;

/**
 * A loss as sum over labelled tokens and their count, so that micro-batches and workers combine
 * exactly into the token-weighted mean.
 */
public record Loss(double sum, long count) implements java.io.Serializable {

  public double mean() {
    return count == 0 ? Double.NaN : sum / count;
  }

  public Loss plus(Loss other) {
    return new Loss(sum + other.sum, count + other.count);
  }
}
