package io.laketune.prep.job;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which Spark partition writes which shard: per tenant (in name order; one unnamed tenant "" for a
 * dataset without tenant.column) its train shards, then its validation shards. A tenant's shards
 * lie under {@code tenants/NAME/}; a dataset of one tenant keeps them at the top.
 */
final class ShardLayout implements Serializable {

  /** first partition, train shards, validation shards; by tenant. */
  private final Map<String, int[]> tenants = new LinkedHashMap<>();
  private final List<String> names = new ArrayList<>();

  /** @param splitTokens per tenant (name order), {train tokens, validation tokens} */
  ShardLayout(Map<String, long[]> splitTokens, long shardTokens) {
    for (Map.Entry<String, long[]> e : splitTokens.entrySet()) {
      int train = shards(e.getValue()[0], shardTokens);
      int validation = shards(e.getValue()[1], shardTokens);
      tenants.put(e.getKey(), new int[] {names.size(), train, validation});
      String prefix = prefix(e.getKey());
      for (int i = 0; i < train; i++) {
        names.add(prefix + ShardTask.name("train", i));
      }
      for (int i = 0; i < validation; i++) {
        names.add(prefix + ShardTask.name("validation", i));
      }
    }
  }

  /** The directory of a tenant's dataset relative to the whole one: tenants/NAME/, or "" for none. */
  static String prefix(String tenant) {
    return tenant.isEmpty() ? "" : "tenants/" + tenant + "/";
  }

  private static int shards(long tokens, long shardTokens) {
    return (int) Math.min(Integer.MAX_VALUE / 2, (tokens + shardTokens - 1) / shardTokens);
  }

  int partitions() {
    return names.size();
  }

  /** The relative path of partition p's shard. */
  String name(int partition) {
    return names.get(partition);
  }

  /** The partition of the given shard number of a tenant's split. */
  int partition(String tenant, boolean validation, int shard) {
    int[] t = tenants.get(tenant);
    return t[0] + (validation ? t[1] : 0) + shard;
  }

  int shards(String tenant, boolean validation) {
    int[] t = tenants.get(tenant);
    return validation ? t[2] : t[1];
  }
}
