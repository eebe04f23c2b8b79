package io.laketune.prep.pack;

import io.laketune.prep.tokenize.TokenizedDoc;
import java.util.function.Consumer;

/**
 * pack.mode = greedy (next fit): documents go into the current row until the next does not fit,
 * then a new row starts. With capacity 0 every document is a row of its own (pack.mode = none).
 */
final class GreedyPacker implements Packer {

  private final int capacity;
  private final Consumer<PackedRow> out;
  private RowBuilder row = new RowBuilder(0);

  GreedyPacker(int capacity, Consumer<PackedRow> out) {
    this.capacity = capacity;
    this.out = out;
  }

  @Override
  public void add(TokenizedDoc doc) {
    if (!row.isEmpty() && row.length() + doc.length() > capacity) {
      out.accept(row.build());
      row = new RowBuilder(0);
    }
    row.add(doc);
  }

  @Override
  public void finish() {
    if (!row.isEmpty()) {
      out.accept(row.build());
      row = new RowBuilder(0);
    }
  }
}
