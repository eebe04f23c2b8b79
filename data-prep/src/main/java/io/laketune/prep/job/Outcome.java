package io.laketune.prep.job;

import io.laketune.prep.tokenize.TokenizedDoc;
import java.io.Serializable;

/** What became of one record of input (a JSONL line, a table row): exactly one of these per record read. */
sealed interface Outcome extends Serializable {

  /**
   * A training example.
   *
   * @param inputHi with inputLo, the input order that dedup keeps the first of and that breaks ties
   *     in the shuffle: (file index, line) for JSONL; for table rows the row's identity hash (128
   *     bits of SHA-256 of the row's values), which needs no file order — rows with equal hashes are
   *     equal rows and give equal examples, so no order between them can change the output
   * @param inputLo see inputHi
   * @param hashHi high bits of the normalised content hash (dedup, shuffle)
   * @param hashLo low bits
   * @param validation whether the split hash put it in the validation split
   * @param truncated whether it was cut to seq_len
   * @param tenant the record's tenant (tenant.column), or "" when the dataset has none
   */
  record Example(long inputHi, long inputLo, long hashHi, long hashLo, boolean validation, boolean truncated,
      TokenizedDoc doc, String tenant) implements Outcome {

    long[] hash() {
      return new long[] {hashHi, hashLo};
    }

    /** Whether this example comes before the other in input order. */
    boolean before(Example other) {
      return inputHi != other.inputHi ? inputHi < other.inputHi : inputLo < other.inputLo;
    }
  }

  /**
   * A record that is no valid example, with what rejects/ shows about it.
   *
   * @param file the JSONL file, or the table row's data file (null when the source does not say)
   * @param line the JSONL line number, or the row's position in its data file (-1 when unknown)
   * @param row null for a JSONL line; for a table row its key and identity hash
   * @param tenant the record's tenant where it is known, else "": always with tenant.inputs (the
   *     file's tenant); with tenant.column once the record has parsed and names a valid tenant
   */
  record Rejected(String file, long line, String reason, String detail, String excerpt, TableRow row,
      String tenant) implements Outcome {}

  /**
   * What identifies a rejected table row besides its file and position.
   *
   * @param key the source.key column's value as JSON text, or null
   * @param hashHi the row's identity hash (see Example.inputHi): rejects/ are sorted by it
   */
  record TableRow(String key, long hashHi, long hashLo) implements Serializable {}

  /** A valid example the length policy left out; reason: too_long or no_trained_tokens. */
  record Dropped(String reason, String tenant) implements Outcome {}
}
