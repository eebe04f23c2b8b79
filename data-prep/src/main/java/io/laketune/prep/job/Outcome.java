package io.laketune.prep.job;

import io.laketune.prep.tokenize.TokenizedDoc;
import java.io.Serializable;

/** What became of one line of input: exactly one of these per line read. */
sealed interface Outcome extends Serializable {

  /**
   * A training example.
   *
   * @param file index of the input file; with line, the input order
   * @param hashHi high bits of the normalised content hash (dedup, shuffle)
   * @param hashLo low bits
   * @param validation whether the split hash put it in the validation split
   * @param truncated whether it was cut to seq_len
   */
  record Example(int file, long line, long hashHi, long hashLo, boolean validation, boolean truncated,
      TokenizedDoc doc) implements Outcome {

    long[] hash() {
      return new long[] {hashHi, hashLo};
    }

    /** Whether this example comes before the other in input order. */
    boolean before(Example other) {
      return file != other.file ? file < other.file : line < other.line;
    }
  }

  /** A line that is no valid example, with what rejects/ shows about it. */
  record Rejected(String file, long line, String reason, String detail, String excerpt)
      implements Outcome {}

  /** A valid example the length policy left out; reason: too_long or no_trained_tokens. */
  record Dropped(String reason) implements Outcome {}
}
