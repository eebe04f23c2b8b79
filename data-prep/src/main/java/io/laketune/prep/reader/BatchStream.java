package io.laketune.prep.reader;

import io.laketune.model.Batch;
import io.laketune.prep.pack.PackedRow;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * One worker's batches of one epoch, from a cursor on (see {@link PreparedDataset#stream}). Holds
 * one decoded shard at a time. {@link #cursor()} after a batch is where a resumed stream continues.
 */
public final class BatchStream implements Iterator<Batch>, AutoCloseable {

  private final PreparedDataset dataset;
  private final String split;
  private final EpochOrder order;
  private final StreamOptions options;
  private final int epoch;
  private final long from;
  private final long to;
  private final int seqLen;
  private final int padId;
  private final boolean segments;
  private long next;
  private int loadedShard = -1;
  private List<PackedRow> loaded;

  BatchStream(PreparedDataset dataset, String split, EpochOrder order, StreamOptions options, Cursor cursor,
      long from, long to, int seqLen, int padId, boolean segments) {
    this.dataset = dataset;
    this.split = split;
    this.order = order;
    this.options = options;
    this.epoch = cursor.epoch();
    this.from = from;
    this.to = to;
    this.seqLen = seqLen;
    this.padId = padId;
    this.segments = segments;
    this.next = from + cursor.position();
  }

  @Override
  public boolean hasNext() {
    return next < to;
  }

  @Override
  public Batch next() {
    if (!hasNext()) {
      throw new NoSuchElementException("worker " + options.worker() + " has read all its rows of epoch " + epoch);
    }
    List<PackedRow> rows = new ArrayList<>(options.batchSize());
    while (rows.size() < options.batchSize() && next < to) {
      rows.add(row(next++));
    }
    return RowBatcher.batch(rows, seqLen, padId, segments);
  }

  /** Where the next batch starts: save it to resume. */
  public Cursor cursor() {
    return new Cursor(epoch, next - from);
  }

  /** Rows this worker reads in this epoch. */
  public long rows() {
    return to - from;
  }

  private PackedRow row(long q) {
    int shard = order.shard(q);
    if (shard != loadedShard) {
      try {
        loaded = dataset.shard(split, shard);
      } catch (IOException e) {
        throw new UncheckedIOException("reading shard " + shard + " of " + split + " failed: " + e.getMessage(), e);
      }
      loadedShard = shard;
    }
    return loaded.get(order.row(q));
  }

  @Override
  public void close() {
    loaded = null;
  }
}
