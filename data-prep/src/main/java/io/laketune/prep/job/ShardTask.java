package io.laketune.prep.job;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.pack.Packer;
import io.laketune.prep.write.Manifest;
import io.laketune.prep.write.ShardWriter;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Locale;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import scala.Tuple2;

/**
 * One shard: the examples of one Spark partition, already in shuffled order, packed into rows and
 * written as {@code [tenants/NAME/]<split>/shard-NNNNN.parquet}.
 */
final class ShardTask implements Serializable {

  private final PrepConfig config;
  private final HadoopConf conf;
  private final String staging;
  private final ShardLayout layout;

  ShardTask(PrepConfig config, HadoopConf conf, String staging, ShardLayout layout) {
    this.config = config;
    this.conf = conf;
    this.staging = staging;
    this.layout = layout;
  }

  static String name(String split, int index) {
    return split + "/shard-" + String.format(Locale.ROOT, "%05d", index) + ".parquet";
  }

  Manifest.ShardInfo write(int partition, Iterator<Tuple2<ShardKey, Outcome.Example>> examples) {
    String relative = layout.name(partition);
    Path target = new Path(staging, relative);
    Path attempt = TaskFiles.attemptPath(target);
    long[] rowsTokensTrained = new long[3];
    long count = 0;
    try {
      FileSystem fs = target.getFileSystem(conf.get());
      try (ShardWriter writer = new ShardWriter(attempt, conf.get())) {
        Packer packer = Packer.of(config.pack(), config.length().seqLen(), row -> {
          write(writer, row);
          rowsTokensTrained[0]++;
          rowsTokensTrained[1] += row.length();
          rowsTokensTrained[2] += row.trainedTokens();
        });
        while (examples.hasNext()) {
          packer.add(examples.next()._2().doc());
          count++;
        }
        packer.finish();
      }
      TaskFiles.publish(fs, attempt, target);
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + target + " failed: " + e.getMessage(), e);
    }
    return new Manifest.ShardInfo(
        relative, rowsTokensTrained[0], count, rowsTokensTrained[1], rowsTokensTrained[2]);
  }

  private static void write(ShardWriter writer, PackedRow row) {
    try {
      writer.write(row);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
