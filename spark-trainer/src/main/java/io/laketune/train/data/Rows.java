package io.laketune.train.data;

import io.laketune.prep.pack.PackedRow;

/** Random access to the packed rows of one split, as the trainer reads them on a worker. */
public interface Rows {
  long size();

  PackedRow row(long index);

  /** The padded row length of the dataset. */
  int seqLen();
}
