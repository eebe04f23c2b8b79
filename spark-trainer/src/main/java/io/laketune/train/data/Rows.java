package io.laketune.train.data;

import io.laketune.prep.pack.PackedRow;

/** The packed rows of one split as the trainer reads them on a worker: by shard and row. */
public interface Rows {
  /** Rows of each shard, in shard number order. */
  long[] shardRows();

  PackedRow row(int shard, int index);

  /** The padded row length of the dataset. */
  int seqLen();

  default long size() {
    long n = 0;
    for (long r : shardRows()) n += r;
    return n;
  }
}
