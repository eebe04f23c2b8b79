package io.laketune.prep.tokenize;

import java.io.Serializable;

/**
 * One example as tokens, before packing.
 *
 * @param ids token ids, length T (1 ≤ T ≤ seq_len once the length policy has run)
 * @param labels length T: the id where the token is trained on, -100 where it is not
 */
public record TokenizedDoc(int[] ids, int[] labels) implements Serializable {

  /** Label of a token that is not trained on (PyTorch's cross-entropy ignore_index). */
  public static final int IGNORE = -100;

  public TokenizedDoc {
    if (ids.length != labels.length) {
      throw new IllegalArgumentException("ids and labels differ in length: " + ids.length + " vs " + labels.length);
    }
  }

  public int length() {
    return ids.length;
  }

  /** Number of tokens with a label. */
  public int trainedTokens() {
    int n = 0;
    for (int label : labels) {
      if (label != IGNORE) {
        n++;
      }
    }
    return n;
  }
}
