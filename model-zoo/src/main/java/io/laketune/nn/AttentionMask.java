package io.laketune.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The additive attention bias [B, 1, T, T]: 0 where query t may attend key s, a large negative
 * value elsewhere. Query t sees key s when s <= t (causal), the key is not padding
 * (attention_mask[b][s] == 1), both lie in the same packed document (segment ids, when given), and
 * t - s < slidingWindow (when > 0) — HF's sliding-window rule {@code kv_idx > q_idx - window}.
 *
 * <p>A finite negative bias keeps a row with no visible key (a left-padded query) free of NaN:
 * it becomes uniform, and its output is never used for the loss.
 */
public final class AttentionMask {
  static final double MASKED = -1e30;

  private AttentionMask() {}

  /**
   * @param paddingMask [B][T] with 1 = real token, 0 = padding; null = no padding
   * @param segments [B][T] document ids of packed rows; null = one document per row
   * @param slidingWindow keys older than this many positions are hidden; 0 = unlimited
   */
  public static INDArray build(int batch, int time, int[][] paddingMask, int[][] segments,
      int slidingWindow, DataType type) {
    double[] bias = new double[batch * time * time];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < time; t++) {
        int row = (b * time + t) * time;
        for (int s = 0; s < time; s++) {
          boolean visible = s <= t
              && (paddingMask == null || paddingMask[b][s] != 0)
              && (segments == null || segments[b][s] == segments[b][t])
              && (slidingWindow <= 0 || t - s < slidingWindow);
          bias[row + s] = visible ? 0.0 : MASKED;
        }
      }
    }
    return Nd4j.create(bias, new long[] {batch, 1, time, time}, DataType.DOUBLE).castTo(type);
  }
}
