package io.laketune.prep.job;

import java.io.Serializable;
import java.util.Comparator;
import org.apache.spark.Partitioner;

/**
 * Where an example goes: its shard (Spark partition = shard; train shards first, then validation)
 * and its place there (seeded shuffle order, ties by input order: see Outcome.Example). Sorting by this key inside each
 * partition gives every shard the same content in the same order on every run.
 */
record ShardKey(int partition, long order, long inputHi, long inputLo) implements Serializable {

  static final Comparator<ShardKey> ORDER = new ByOrder();

  private static final class ByOrder implements Comparator<ShardKey>, Serializable {
    @Override
    public int compare(ShardKey a, ShardKey b) {
      int c = Long.compare(a.order, b.order);
      if (c != 0) {
        return c;
      }
      c = Long.compare(a.inputHi, b.inputHi);
      return c != 0 ? c : Long.compare(a.inputLo, b.inputLo);
    }
  }

  /** Sends each key to its shard's partition. */
  static final class ByShard extends Partitioner {
    private final int partitions;

    ByShard(int partitions) {
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      return ((ShardKey) key).partition();
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof ByShard b && b.partitions == partitions;
    }

    @Override
    public int hashCode() {
      return partitions;
    }
  }
}
