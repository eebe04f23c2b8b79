package io.laketune.train.data;

import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.reader.PreparedDataset;
import io.laketune.prep.write.Manifest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * A split of a dataset made by {@code laketune prepare}, read on executors without Spark: shards
 * are loaded on first use and the most recent few kept per JVM, so a worker holds only the shards
 * its steps touch (the epoch order visits shards one after another).
 */
public record PreparedRows(String dir, String split) implements RowSource {
  private static final int KEEP_SHARDS = 4;
  private static final Map<String, List<PackedRow>> SHARDS = new LinkedHashMap<>(8, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, List<PackedRow>> e) {
      return size() > KEEP_SHARDS;
    }
  };
  private static final Map<String, PreparedDataset> OPEN = new LinkedHashMap<>();

  @Override
  public String key() {
    return dir + "#" + split;
  }

  static PreparedDataset dataset(String dir) {
    synchronized (OPEN) {
      return OPEN.computeIfAbsent(dir, d -> {
        try {
          return PreparedDataset.open(d, new Configuration());
        } catch (IOException e) {
          throw new UncheckedIOException("cannot open the prepared dataset " + d + ": " + e.getMessage(), e);
        }
      });
    }
  }

  /** Whether the dataset has this split with at least one row. */
  public static boolean has(String dir, String split) {
    Manifest.SplitInfo info = dataset(dir).manifest().splits().get(split);
    return info != null && info.rows() > 0;
  }

  @Override
  public Rows open() {
    PreparedDataset data = dataset(dir);
    long[] rows = data.split(split).shards().stream().mapToLong(Manifest.ShardInfo::rows).toArray();
    int seqLen = data.manifest().seqLen();
    return new Rows() {
      @Override
      public long[] shardRows() {
        return rows;
      }

      @Override
      public PackedRow row(int shard, int index) {
        String k = key() + "#" + shard;
        List<PackedRow> s;
        synchronized (SHARDS) {
          s = SHARDS.get(k);
        }
        if (s == null) {
          try {
            s = data.shard(split, shard);
          } catch (IOException e) {
            throw new UncheckedIOException("cannot read shard " + shard + " of " + key() + ": " + e.getMessage(), e);
          }
          synchronized (SHARDS) {
            SHARDS.put(k, s);
          }
        }
        return s.get(index);
      }

      @Override
      public int seqLen() {
        return seqLen;
      }
    };
  }
}
