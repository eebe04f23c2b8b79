package io.laketune.train.data;

import io.laketune.prep.reader.EpochOrder;
import java.io.Serializable;

/**
 * Which rows every worker trains on at every step, a pure function of (seed, epoch, step): a
 * retried task recomputes exactly what the failed one would have, a resumed run continues the same
 * stream, and the global batch does not depend on how it is split across workers.
 *
 * <p>Each epoch visits the rows in data-prep's epoch order (shards in a seeded order, rows of each
 * shard in a seeded order). Step s of an epoch takes the next G = workers x accumulation x micro rows
 * of it as workers x accumulation micro-batches of micro rows; worker w's a-th micro-batch is global
 * micro-batch a * workers + w. One worker with twice the accumulation therefore sees exactly the rows
 * two workers do. A last partial step is dropped.
 */
public final class StepPlan implements Serializable {
  private final long[] shardRows;
  private final long rows;
  private final int workers;
  private final int micro;
  private final int accumulation;
  private final long seed;

  public StepPlan(long[] shardRows, int workers, int micro, int accumulation, long seed) {
    this.shardRows = shardRows.clone();
    long n = 0;
    for (long r : shardRows) n += r;
    this.rows = n;
    this.workers = workers;
    this.micro = micro;
    this.accumulation = accumulation;
    this.seed = seed;
    if (stepsPerEpoch() == 0) {
      throw new IllegalArgumentException("the training split has " + rows + " rows but one step needs "
          + globalRows() + " (workers x micro_batch_size x gradient_accumulation); lower them or add data");
    }
  }

  public long globalRows() {
    return (long) workers * micro * accumulation;
  }

  public long stepsPerEpoch() {
    return rows / globalRows();
  }

  public int accumulation() {
    return accumulation;
  }

  /** Global index of worker w's a-th micro-batch within a step. */
  public int globalMicroBatch(int worker, int a) {
    return a * workers + worker;
  }

  public int epochOf(long step) {
    return Math.toIntExact(step / stepsPerEpoch());
  }

  /** {shard[], row[]} of a global micro-batch of step {@code step} (0-based from the start of training). */
  public int[][] microBatchRows(long step, int globalMicro) {
    EpochOrder order = new EpochOrder(shardRows, seed, epochOf(step), "train");
    long start = (step % stepsPerEpoch()) * globalRows() + (long) globalMicro * micro;
    int[][] out = new int[2][micro];
    for (int i = 0; i < micro; i++) {
      out[0][i] = order.shard(start + i);
      out[1][i] = order.row(start + i);
    }
    return out;
  }
}
