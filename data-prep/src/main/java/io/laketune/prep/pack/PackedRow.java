package io.laketune.prep.pack;

import java.io.Serializable;

/**
 * One training row as stored in a shard: one or more documents back to back, not padded (the
 * reader pads to seq_len).
 *
 * @param ids token ids, length L ≤ seq_len
 * @param labels length L, -100 where not trained; also at the first token of every document after
 *     the first, whose label would otherwise be predicted from the previous document
 * @param docLens token count of each document in order, summing to L
 */
public record PackedRow(int[] ids, int[] labels, int[] docLens) implements Serializable {

  public PackedRow {
    int sum = 0;
    for (int len : docLens) {
      if (len <= 0) {
        throw new IllegalArgumentException("document lengths must be positive");
      }
      sum += len;
    }
    if (ids.length != labels.length || sum != ids.length) {
      throw new IllegalArgumentException("ids (" + ids.length + "), labels (" + labels.length
          + ") and the sum of doc_lens (" + sum + ") must agree");
    }
  }

  public int length() {
    return ids.length;
  }

  public int trainedTokens() {
    int n = 0;
    for (int label : labels) {
      if (label != -100) {
        n++;
      }
    }
    return n;
  }
}
