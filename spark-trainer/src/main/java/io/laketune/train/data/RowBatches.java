package io.laketune.train.data;

import io.laketune.model.Batch;
import io.laketune.nn.CrossEntropy;
import io.laketune.prep.pack.PackedRow;
import java.util.List;

/**
 * Packed rows → a model batch padded to seq_len: padding is masked from attention and labelled
 * -100; each packed document gets its own segment id and positions counted from 0, so no token
 * attends across documents and RoPE sees each document as if it stood alone.
 */
public final class RowBatches {
  private RowBatches() {}

  public static Batch toBatch(List<PackedRow> rows, int seqLen) {
    int b = rows.size();
    int[][] ids = new int[b][seqLen];
    int[][] labels = new int[b][seqLen];
    int[][] mask = new int[b][seqLen];
    int[][] positions = new int[b][seqLen];
    int[][] segments = new int[b][seqLen];
    for (int i = 0; i < b; i++) {
      PackedRow r = rows.get(i);
      int n = r.length();
      if (n > seqLen) throw new IllegalArgumentException("a row of " + n + " tokens exceeds seq_len " + seqLen);
      System.arraycopy(r.ids(), 0, ids[i], 0, n);
      System.arraycopy(r.labels(), 0, labels[i], 0, n);
      int t = 0;
      for (int d = 0; d < r.docLens().length; d++) {
        for (int k = 0; k < r.docLens()[d]; k++, t++) {
          mask[i][t] = 1;
          positions[i][t] = k;
          segments[i][t] = d;
        }
      }
      for (; t < seqLen; t++) {
        labels[i][t] = CrossEntropy.IGNORE_INDEX;
        segments[i][t] = -1;
      }
    }
    return new Batch(ids, mask, labels, positions, segments);
  }
}
