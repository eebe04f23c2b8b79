package io.laketune.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Central finite differences in double precision against analytic gradients. */
public final class GradCheck {
  private GradCheck() {}

  /**
   * Perturbs up to {@code samples} entries of {@code x} (in place, restored after) and compares
   * (f(x+h) - f(x-h)) / 2h with {@code analytic} at the same entries.
   */
  public static void check(String what, INDArray x, INDArray analytic, DoubleSupplier f, int samples,
      double tol, Random rnd) {
    long n = x.length();
    INDArray flatX = x.reshape(n);
    INDArray flatG = analytic.reshape(n);
    double h = 1e-6;
    double worst = 0;
    for (int s = 0; s < Math.min(samples, n); s++) {
      long i = samples >= n ? s : (long) (rnd.nextDouble() * n);
      double old = flatX.getDouble(i);
      flatX.putScalar(i, old + h);
      double fp = f.getAsDouble();
      flatX.putScalar(i, old - h);
      double fm = f.getAsDouble();
      flatX.putScalar(i, old);
      double numeric = (fp - fm) / (2 * h);
      double a = flatG.getDouble(i);
      double err = Math.abs(numeric - a) / Math.max(1e-6, Math.abs(numeric) + Math.abs(a));
      worst = Math.max(worst, Math.abs(numeric - a) <= 1e-8 ? 0 : err);
    }
    assertTrue(worst < tol, what + ": worst relative error " + worst + " >= " + tol);
  }
}
