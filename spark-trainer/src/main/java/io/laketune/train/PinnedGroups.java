package io.laketune.train;

import java.io.Serializable;
import org.apache.spark.Partition;
import org.apache.spark.rdd.PartitionCoalescer;
import org.apache.spark.rdd.PartitionGroup;
import org.apache.spark.rdd.RDD;
import scala.Option;

/**
 * A coalescer that makes output partition i read exactly the parent partitions groups[i], in that
 * order, and prefer the executor locations[i] ("executor_HOST_ID", or null for none): Spark's own
 * CoalescedRDD then fetches each parent block through the block manager (locally when it is there)
 * and places the task where the shard it serves already lives. Parents may appear in several groups:
 * that is the all-gather.
 */
final class PinnedGroups implements PartitionCoalescer, Serializable {
  private final int[][] groups;
  private final String[] locations;

  PinnedGroups(int[][] groups, String[] locations) {
    this.groups = groups;
    this.locations = locations;
  }

  @Override
  public PartitionGroup[] coalesce(int maxPartitions, RDD<?> parent) {
    Partition[] parts = parent.partitions();
    PartitionGroup[] out = new PartitionGroup[groups.length];
    for (int i = 0; i < groups.length; i++) {
      PartitionGroup g = new PartitionGroup(Option.apply(locations[i]));
      for (int p : groups[i]) g.partitions().addOne(parts[p]);
      out[i] = g;
    }
    return out;
  }
}
