package io.laketune.train.data;

import io.laketune.prep.pack.PackedRow;
import java.util.List;

/** Rows held in the closure itself, as one shard: small datasets, tests and notebooks. */
public record InMemoryRows(String key, List<PackedRow> rows, int seqLen) implements RowSource, Rows {

  public InMemoryRows {
    rows = List.copyOf(rows);
    for (PackedRow r : rows) {
      if (r.length() > seqLen) throw new IllegalArgumentException("a row of " + r.length() + " tokens exceeds seq_len " + seqLen);
    }
  }

  @Override
  public Rows open() {
    return this;
  }

  @Override
  public long[] shardRows() {
    return new long[] {rows.size()};
  }

  @Override
  public PackedRow row(int shard, int index) {
    return rows.get(index);
  }
}
