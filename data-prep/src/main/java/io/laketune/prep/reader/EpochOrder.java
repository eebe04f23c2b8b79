package io.laketune.prep.reader;

import io.laketune.prep.split.Shuffle;
import java.util.SplittableRandom;

/**
 * The order of a split's rows in one epoch: shards in a seeded random order, and the rows of each
 * shard in a seeded random order, laid end to end. Position q of the epoch is row {@link #row(long)}
 * of shard {@link #shard(long)}. Workers take contiguous ranges of positions, so each reads about
 * 1/N of the shards. The shards already hold examples in a seeded shuffle (the job), so this mixes
 * rows across the whole split. Deterministic in (seed, epoch, split); SplittableRandom's sequence
 * is specified, so it is the same on every JVM. Not thread-safe (it caches one shard's permutation).
 */
public final class EpochOrder {

  private final long seed;
  private final int[] shardOrder;
  /** prefix[k] = rows in shardOrder[0..k). */
  private final long[] prefix;
  private final long[] rowsPerShard;
  private int cachedShard = -1;
  private int[] cachedPermutation;

  /** @param rowsPerShard rows of each shard, in shard number order */
  public EpochOrder(long[] rowsPerShard, long seed, int epoch, String split) {
    this.rowsPerShard = rowsPerShard;
    this.seed = Shuffle.mix(Shuffle.mix(seed) ^ Shuffle.mix(epoch + 1L) ^ split.hashCode());
    this.shardOrder = permutation(rowsPerShard.length, this.seed);
    this.prefix = new long[rowsPerShard.length + 1];
    for (int k = 0; k < shardOrder.length; k++) {
      prefix[k + 1] = prefix[k] + rowsPerShard[shardOrder[k]];
    }
  }

  public long rows() {
    return prefix[prefix.length - 1];
  }

  /** Shard of position q. */
  public int shard(long q) {
    return shardOrder[slot(q)];
  }

  /** Row within {@link #shard(long)} of position q. */
  public int row(long q) {
    int k = slot(q);
    int shard = shardOrder[k];
    if (shard != cachedShard) {
      cachedPermutation = permutation((int) rowsPerShard[shard], Shuffle.mix(seed ^ Shuffle.mix(shard + 1L)));
      cachedShard = shard;
    }
    return cachedPermutation[(int) (q - prefix[k])];
  }

  private int slot(long q) {
    if (q < 0 || q >= rows()) {
      throw new IndexOutOfBoundsException("position " + q + " of " + rows());
    }
    int lo = 0;
    int hi = shardOrder.length - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (prefix[mid] <= q) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /** Fisher–Yates shuffle of 0..n-1. */
  static int[] permutation(int n, long seed) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
