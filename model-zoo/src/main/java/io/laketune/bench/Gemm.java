package io.laketune.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The practical fp32 matrix-multiply peak of this machine: what MFU is measured against. */
public final class Gemm {
  private Gemm() {}

  /**
   * Best of {@code reps} n x n x n fp32 {@code Nd4j.gemm} calls into a preallocated output, in FLOP/s
   * (2 n^3 per call). Inputs are uniform in [0, 1); the first call also warms the library up.
   */
  public static double bestRate(int n, int reps) {
    INDArray a = Nd4j.rand(DataType.FLOAT, n, n), b = Nd4j.rand(DataType.FLOAT, n, n), c = Nd4j.create(DataType.FLOAT, n, n);
    double best = 0;
    for (int i = 0; i < reps; i++) {
      long t = System.nanoTime();
      Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
      best = Math.max(best, 2.0 * n * n * n / ((System.nanoTime() - t) / 1e9));
    }
    a.close();
    b.close();
    c.close();
    return best;
  }
}
