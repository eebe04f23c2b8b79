package io.laketune.prep.reader;

import io.laketune.model.Batch;
import io.laketune.prep.pack.PackedRow;
import java.util.Arrays;
import java.util.List;

/**
 * Stored rows → the {@link Batch} the trainer consumes, B rows × T = seq_len tokens, padded on the
 * right: input_ids = pad_id, attention 0, label -100, position 0, segment 0 for padding. Positions
 * restart at 0 with every document of a packed row; segment ids number the documents 1, 2, ... so
 * the trainer keeps attention inside each.
 */
public final class RowBatcher {

  private RowBatcher() {}

  /** @param segments whether to fill segment ids (packed datasets) or leave them null */
  public static Batch batch(List<PackedRow> rows, int seqLen, int padId, boolean segments) {
    int b = rows.size();
    int[][] ids = new int[b][seqLen];
    int[][] mask = new int[b][seqLen];
    int[][] labels = new int[b][seqLen];
    int[][] positions = new int[b][seqLen];
    int[][] segmentIds = segments ? new int[b][seqLen] : null;
    for (int r = 0; r < b; r++) {
      PackedRow row = rows.get(r);
      int n = row.length();
      if (n > seqLen) {
        throw new IllegalArgumentException("a row of " + n + " tokens does not fit seq_len " + seqLen
            + "; the dataset and its manifest disagree, prepare it again.");
      }
      System.arraycopy(row.ids(), 0, ids[r], 0, n);
      Arrays.fill(ids[r], n, seqLen, padId);
      System.arraycopy(row.labels(), 0, labels[r], 0, n);
      Arrays.fill(labels[r], n, seqLen, -100);
      Arrays.fill(mask[r], 0, n, 1);
      int at = 0;
      for (int d = 0; d < row.docLens().length; d++) {
        for (int i = 0; i < row.docLens()[d]; i++) {
          positions[r][at] = i;
          if (segments) {
            segmentIds[r][at] = d + 1;
          }
          at++;
        }
      }
    }
    return new Batch(ids, mask, labels, positions, segmentIds);
  }
}
