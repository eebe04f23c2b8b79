package io.laketune.train;

/** A NaN or infinite loss or gradient norm with non_finite = stop. */
public final class NonFiniteException extends RuntimeException {
  public NonFiniteException(long step, double loss, double gradNorm) {
    super("step " + step + " has a non-finite loss (" + loss + ") or gradient norm (" + gradNorm
        + "); lower optimizer.lr, keep optimizer.max_grad_norm on, or set non_finite = skip to drop such steps");
  }
}
