package io.laketune.train;

import org.apache.spark.Partitioner;

/**
 * Shuffle keys of the reduce-scatter and the partitioner that sends each record to the shard that
 * sums it. A vector record of chunk c from worker w has key c N + w, so sorting by key gives every
 * chunk's contributions in worker order; worker w's report, copied to every shard s, has key
 * Long.MIN_VALUE + s N + w and sorts before all vector records of that shard.
 */
final class ShardKeys extends Partitioner {
  private final Chunking ch;
  private final int workers;

  ShardKeys(Chunking ch, int workers) {
    this.ch = ch;
    this.workers = workers;
  }

  static long chunkKey(int chunk, int worker, int workers) {
    return (long) chunk * workers + worker;
  }

  static long reportKey(int shard, int worker, int workers) {
    return Long.MIN_VALUE + (long) shard * workers + worker;
  }

  static boolean isReport(long key) {
    return key < 0;
  }

  static int chunkOf(long key, int workers) {
    return (int) (key / workers);
  }

  static int workerOf(long key, int workers) {
    return (int) (isReport(key) ? (key - Long.MIN_VALUE) % workers : key % workers);
  }

  @Override
  public int numPartitions() {
    return ch.shards();
  }

  @Override
  public int getPartition(Object key) {
    long k = (Long) key;
    return isReport(k) ? (int) ((k - Long.MIN_VALUE) / workers) : ch.shardOf(chunkOf(k, workers));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ShardKeys s && s.ch.equals(ch) && s.workers == workers;
  }

  @Override
  public int hashCode() {
    return ch.hashCode() * 31 + workers;
  }
}
