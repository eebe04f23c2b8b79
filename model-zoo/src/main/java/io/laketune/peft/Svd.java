package io.laketune.peft;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Thin SVD W = U diag(S) V^T in double precision through libnd4j's one-sided Jacobi solver
 * (its divide-and-conquer path fails on some shapes in 1.0.0-M2.1, so the switch size is set
 * above any matrix). Exact but O(n^3) with many sweeps: fine for PiSSA on small and medium layers.
 */
final class Svd {
  private Svd() {}

  /** @return {S [k], U [m, k], V [n, k]} with k = min(m, n), S descending */
  static INDArray[] thin(INDArray w) {
    INDArray x = w.castTo(DataType.DOUBLE);
    long m = x.rows(), n = x.columns(), k = Math.min(m, n);
    INDArray s = Nd4j.create(DataType.DOUBLE, k);
    INDArray u = Nd4j.create(DataType.DOUBLE, m, k);
    INDArray v = Nd4j.create(DataType.DOUBLE, n, k);
    Nd4j.exec(DynamicCustomOp.builder("svd").addInputs(x).addOutputs(s, u, v)
        .addIntegerArguments(0, 1, Integer.MAX_VALUE).build());
    return new INDArray[] {s, u, v};
  }
}
