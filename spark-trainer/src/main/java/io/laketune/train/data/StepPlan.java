package io.laketune.train.data;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Which rows every worker trains on at every step, a pure function of (seed, epoch, step): a
 * retried task recomputes exactly what the failed one would have, a resumed run continues the same
 * stream, and the global batch does not depend on how it is split across workers.
 *
 * <p>Each epoch visits the rows in a seeded permutation. Step s of an epoch takes the next
 * G = workers x accumulation x micro rows of it, as workers x accumulation micro-batches of micro rows;
 * worker w's a-th micro-batch is global micro-batch a * workers + w. One worker with twice the
 * accumulation therefore sees exactly the rows two workers do. A last partial step is dropped.
 */
public final class StepPlan implements Serializable {
  private final long rows;
  private final int workers;
  private final int micro;
  private final int accumulation;
  private final long seed;

  public StepPlan(long rows, int workers, int micro, int accumulation, long seed) {
    this.rows = rows;
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

  public int workers() {
    return workers;
  }

  public int accumulation() {
    return accumulation;
  }

  /** Global index of worker w's a-th micro-batch within a step. */
  public int globalMicroBatch(int worker, int a) {
    return a * workers + worker;
  }

  /** Row indices of a global micro-batch of step {@code step} (0-based, counted from the start of training). */
  public long[] microBatchRows(long step, int globalMicro) {
    int epoch = Math.toIntExact(step / stepsPerEpoch());
    long inEpoch = step % stepsPerEpoch();
    int[] perm = permutation(epoch);
    long start = inEpoch * globalRows() + (long) globalMicro * micro;
    long[] out = new long[micro];
    for (int i = 0; i < micro; i++) out[i] = perm[Math.toIntExact(start + i)];
    return out;
  }

  public int epochOf(long step) {
    return Math.toIntExact(step / stepsPerEpoch());
  }

  private static final Map<String, int[]> CACHE = new LinkedHashMap<>(4, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, int[]> e) {
      return size() > 2;
    }
  };

  /** Fisher-Yates from SplittableRandom(seed, epoch), cached per JVM for the current epochs. */
  int[] permutation(int epoch) {
    String key = seed + "/" + epoch + "/" + rows;
    synchronized (CACHE) {
      int[] p = CACHE.get(key);
      if (p != null) return p;
      p = new int[Math.toIntExact(rows)];
      for (int i = 0; i < p.length; i++) p[i] = i;
      SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
      for (int i = p.length - 1; i > 0; i--) {
        int j = rnd.nextInt(i + 1);
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
      }
      CACHE.put(key, p);
      return p;
    }
  }
}
