package io.laketune.optim;

/**
 * Learning rate at optimizer step k (0-based, the value used for the k-th update), as HF's
 * get_{constant,linear,cosine}_schedule_with_warmup: linear warmup from 0 over {@code warmupSteps},
 * then constant, linear decay to 0, or half a cosine to 0 at {@code totalSteps}.
 */
public record LrSchedule(Kind kind, double peak, long warmupSteps, long totalSteps) implements java.io.Serializable {

  public enum Kind { CONSTANT, LINEAR, COSINE }

  public LrSchedule {
    if (peak < 0) throw new IllegalArgumentException("learning rate must be >= 0, got " + peak);
    if (warmupSteps < 0) throw new IllegalArgumentException("warmup steps must be >= 0, got " + warmupSteps);
  }

  public double at(long step) {
    if (step < warmupSteps) return peak * step / Math.max(1.0, warmupSteps);
    double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return switch (kind) {
      case CONSTANT -> peak;
      case LINEAR -> peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
      case COSINE -> peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
    };
  }
}
