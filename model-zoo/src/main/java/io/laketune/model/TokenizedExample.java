package io.laketune.model;

import io.laketune.nn.CrossEntropy;
import java.util.List;

/**
 * One tokenized sequence with its labels aligned to the inputs (HF convention: the model shifts;
 * -100 = not trained on).
 */
public record TokenizedExample(int[] inputIds, int[] labels) {

  public TokenizedExample {
    if (inputIds.length == 0) throw new IllegalArgumentException("an example needs at least one token");
    if (labels.length != inputIds.length) {
      throw new IllegalArgumentException("labels has " + labels.length + " entries but input_ids has "
          + inputIds.length + "; they must align one to one");
    }
  }

  /** Labels equal to the inputs: every token is trained on. */
  public static TokenizedExample allTokens(int[] ids) {
    return new TokenizedExample(ids, ids.clone());
  }

  /**
   * Rows padded on the right to the longest: padding has attention 0, token id {@code 0} and label
   * -100, so it neither is attended to nor counted.
   */
  public static Batch padRight(List<TokenizedExample> rows) {
    int t = 0;
    for (TokenizedExample e : rows) t = Math.max(t, e.inputIds.length);
    int b = rows.size();
    int[][] ids = new int[b][t];
    int[][] mask = new int[b][t];
    int[][] labels = new int[b][t];
    for (int i = 0; i < b; i++) {
      TokenizedExample e = rows.get(i);
      int n = e.inputIds.length;
      System.arraycopy(e.inputIds, 0, ids[i], 0, n);
      System.arraycopy(e.labels, 0, labels[i], 0, n);
      for (int j = 0; j < n; j++) mask[i][j] = 1;
      for (int j = n; j < t; j++) labels[i][j] = CrossEntropy.IGNORE_INDEX;
    }
    return new Batch(ids, mask, labels, null, null);
  }
}
