package io.laketune.prep.reader;

import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.write.Manifest;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * A dataset made by laketune prepare, opened for reading: its manifest and its shards, on any
 * Hadoop FileSystem. No Spark needed; this runs inside the trainer's executors.
 *
 * <pre>{@code
 * PreparedDataset data = PreparedDataset.open("hdfs:///datasets/chats", new Configuration());
 * try (BatchStream batches = data.stream("train", new StreamOptions(8, seed, worker, workers, true),
 *     Cursor.start(epoch))) {
 *   while (batches.hasNext()) {
 *     Batch batch = batches.next();    // B×seq_len ids, labels (-100), mask, positions, segments
 *     Cursor resumeFrom = batches.cursor();
 *   }
 * }
 * }</pre>
 */
public final class PreparedDataset {

  private final Path dir;
  private final Configuration conf;
  private final Manifest manifest;

  private PreparedDataset(Path dir, Configuration conf, Manifest manifest) {
    this.dir = dir;
    this.conf = conf;
    this.manifest = manifest;
  }

  /**
   * @throws IllegalArgumentException when dir is not a finished dataset of this format version
   */
  public static PreparedDataset open(String dir, Configuration conf) throws IOException {
    Path path = new Path(dir);
    return new PreparedDataset(path, conf, Manifest.read(path, conf));
  }

  public Manifest manifest() {
    return manifest;
  }

  /** The split's entry of the manifest; "train" or "validation". */
  public Manifest.SplitInfo split(String split) {
    Manifest.SplitInfo info = manifest.splits().get(split);
    if (info == null) {
      throw new IllegalArgumentException(dir + " has no split \"" + split + "\"; it has " + manifest.splits().keySet() + ".");
    }
    return info;
  }

  /** Rows of a split. */
  public long rows(String split) {
    return split(split).rows();
  }

  /** All rows of one shard, in stored order. */
  public List<PackedRow> shard(String split, int index) throws IOException {
    Manifest.ShardInfo info = split(split).shards().get(index);
    Path path = new Path(dir, info.path());
    List<PackedRow> rows = ShardReader.read(path, conf);
    if (rows.size() != info.rows()) {
      throw new IllegalStateException(path + " has " + rows.size() + " rows but the manifest says " + info.rows()
          + "; the dataset was changed after it was prepared, prepare it again.");
    }
    return rows;
  }

  /**
   * The batches of a split for one worker, from a cursor to the end of the cursor's epoch. The same
   * options and cursor give the same batches.
   */
  public BatchStream stream(String split, StreamOptions options, Cursor cursor) {
    List<Manifest.ShardInfo> shards = split(split).shards();
    long[] rows = shards.stream().mapToLong(Manifest.ShardInfo::rows).toArray();
    EpochOrder order = new EpochOrder(rows, options.seed(), cursor.epoch(), split);
    long total = order.rows();
    long from;
    long to;
    if (options.evenShares()) {
      long share = total / options.workers();
      from = options.worker() * share;
      to = from + share;
    } else {
      from = options.worker() * total / options.workers();
      to = (options.worker() + 1L) * total / options.workers();
    }
    if (cursor.position() > to - from) {
      throw new IllegalArgumentException("cursor " + cursor + " is past the end of worker " + options.worker()
          + "'s " + (to - from) + " rows of epoch " + cursor.epoch() + " of " + split + ".");
    }
    boolean segments = !"none".equals(manifest.packing());
    return new BatchStream(this, split, order, options, cursor, from, to, manifest.seqLen(),
        manifest.tokenizer().padId(), segments);
  }
}
