package io.laketune.prep.split;

/**
 * The seeded shuffle: an example's shard and its place in the shard come from its content hash
 * mixed with the seed (SplitMix64's finaliser), never from Spark's partitioning or timing, so the
 * same input and seed give the same shards.
 */
public final class Shuffle {

  private Shuffle() {}

  /** Shard of an example, 0 ≤ shard < shards. */
  public static int shard(long seed, long[] hash, int shards) {
    return (int) Long.remainderUnsigned(mix(seed ^ mix(hash[0]) ^ 0x5851F42D4C957F2DL), shards);
  }

  /** Sort key of an example inside its shard; ties (equal content) go by input order. */
  public static long order(long seed, long[] hash) {
    return mix(mix(seed) ^ hash[1] ^ mix(hash[0]));
  }

  /** SplitMix64's finaliser: a bijection on 64 bits with good avalanche. */
  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
