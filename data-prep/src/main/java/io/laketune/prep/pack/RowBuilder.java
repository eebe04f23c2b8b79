package io.laketune.prep.pack;

import io.laketune.prep.tokenize.TokenizedDoc;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A row being filled: documents appended until it is written out as a {@link PackedRow}. */
final class RowBuilder {

  private final List<TokenizedDoc> docs = new ArrayList<>();
  private int length;
  /** Opening order: ties between rows go to the older one, so packing is deterministic. */
  final long sequence;

  RowBuilder(long sequence) {
    this.sequence = sequence;
  }

  void add(TokenizedDoc doc) {
    docs.add(doc);
    length += doc.length();
  }

  int length() {
    return length;
  }

  boolean isEmpty() {
    return docs.isEmpty();
  }

  PackedRow build() {
    int[] ids = new int[length];
    int[] labels = new int[length];
    int[] docLens = new int[docs.size()];
    int at = 0;
    for (int d = 0; d < docs.size(); d++) {
      TokenizedDoc doc = docs.get(d);
      System.arraycopy(doc.ids(), 0, ids, at, doc.length());
      System.arraycopy(doc.labels(), 0, labels, at, doc.length());
      if (d > 0) {
        labels[at] = TokenizedDoc.IGNORE;
      }
      docLens[d] = doc.length();
      at += doc.length();
    }
    return new PackedRow(ids, labels, docLens);
  }

  @Override
  public String toString() {
    return "row " + sequence + ": " + length + " tokens in " + docs.size() + " documents, "
        + Arrays.toString(docs.stream().mapToInt(TokenizedDoc::length).toArray());
  }
}
