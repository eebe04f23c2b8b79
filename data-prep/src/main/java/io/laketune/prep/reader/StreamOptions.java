package io.laketune.prep.reader;

/**
 * How a worker streams a split.
 *
 * @param batchSize rows per batch (the last batch of a worker's share may be smaller)
 * @param seed with the epoch, decides the order of rows; the same (seed, epoch, worker, workers)
 *     give the same batches
 * @param worker this worker, 0 ≤ worker &lt; workers
 * @param workers how many workers share the split
 * @param evenShares true: every worker gets exactly rows / workers rows per epoch (the remainder,
 *     a different few rows each epoch, is skipped), so synchronous workers take the same number of
 *     steps; false: shares differ by at most one row and every row is read (evaluation)
 */
public record StreamOptions(int batchSize, long seed, int worker, int workers, boolean evenShares) {

  public StreamOptions {
    if (batchSize <= 0) {
      throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
    }
    if (workers <= 0 || worker < 0 || worker >= workers) {
      throw new IllegalArgumentException("worker must be in [0, workers) with workers > 0, got worker "
          + worker + " of " + workers);
    }
  }
}
