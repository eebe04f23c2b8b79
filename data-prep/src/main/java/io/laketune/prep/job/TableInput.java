package io.laketune.prep.job;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.source.RowRecords;
import io.laketune.prep.source.SourceInfo;
import io.laketune.prep.source.TableSource;
import io.laketune.prep.split.Shuffle;
import io.laketune.prep.tokenize.TokenizerCache;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import scala.Tuple2;

/**
 * Table rows as input: the resolved source's selected rows, spread over enough tasks to keep the
 * executors busy, each row processed by {@link TableRows}.
 *
 * <p>How Spark splits a table scan into partitions depends on file sizes, row groups,
 * spark.sql.files.maxPartitionBytes and the cores, so nothing downstream may depend on it. Examples
 * already do not (their shard and order come from content hashes and the seed, ties and dedup
 * from the row's identity hash); rejects are written sorted by that hash into a number of files
 * that depends only on how many there are, so rejects/ is the same for any partitioning too.
 */
final class TableInput implements Input {

  /** Rejected rows per rejects/ file, at most. */
  static final long REJECTS_PER_FILE = 100_000;

  private final TableSource.Resolved source;

  TableInput(TableSource.Resolved source) {
    this.source = source;
  }

  @Override
  public SourceInfo info() {
    return source.info();
  }

  @Override
  public String pinnedConfig() {
    return source.pinnedConfig();
  }

  @Override
  public String unit() {
    return "rows";
  }

  @Override
  public JavaRDD<Outcome> outcomes(JavaSparkContext sc, PrepConfig config, HadoopConf conf, String fingerprint,
      Progress progress) {
    progress.stage("tokenizing");
    sc.setJobDescription("laketune prepare: read, render, tokenize");
    Dataset<Row> rows = source.rows();
    int scanned = rows.rdd().getNumPartitions();
    int wanted = config.source().partitions() > 0 ? config.source().partitions()
        : Math.max(scanned, sc.defaultParallelism());
    if (wanted != scanned) {
      // A table of few files scans in few tasks; tokenizing is what costs, so spread the rows.
      rows = rows.repartition(wanted);
    }
    Progress.Counters counters = progress.counters();
    RowRecords records = source.records();
    String location = config.tokenizer();
    return rows.toJavaRDD().mapPartitions(it -> {
      RecordProcessor processor =
          new RecordProcessor(config, TokenizerCache.get(location, fingerprint, conf.get()));
      return new TableRows(records, processor).process(it, counters);
    });
  }

  @Override
  public List<RejectsTask.RejectsFile> writeRejects(JavaRDD<Outcome> outcomes, Tally tally, RejectsTask task) {
    long rejected = tally.rejectedTotal();
    if (rejected == 0) {
      return List.of();
    }
    int files = (int) Math.min(10_000, (rejected + REJECTS_PER_FILE - 1) / REJECTS_PER_FILE);
    List<RejectsTask.RejectsFile> out = new ArrayList<>(outcomes
        .filter(o -> o instanceof Outcome.Rejected)
        .mapToPair(o -> {
          Outcome.Rejected r = (Outcome.Rejected) o;
          return new Tuple2<>(new PrepareJob.HashKey(r.row().hashHi(), r.row().hashLo()), (Outcome) r);
        })
        .repartitionAndSortWithinPartitions(new ByHash(files), new ByHashOrder())
        .mapPartitionsWithIndex((i, it) -> {
          RejectsTask.RejectsFile f = task.write(i, new Values(it));
          return (f == null ? List.<RejectsTask.RejectsFile>of() : List.of(f)).iterator();
        }, true)
        .collect());
    out.sort(Comparator.comparing(RejectsTask.RejectsFile::path));
    return out;
  }

  /** The part of rejects/ a row goes to: a function of its identity hash only. */
  static final class ByHash extends Partitioner {
    private final int parts;

    ByHash(int parts) {
      this.parts = parts;
    }

    @Override
    public int numPartitions() {
      return parts;
    }

    @Override
    public int getPartition(Object key) {
      return (int) Long.remainderUnsigned(Shuffle.mix(((PrepareJob.HashKey) key).hi()), parts);
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof ByHash b && b.parts == parts;
    }

    @Override
    public int hashCode() {
      return parts;
    }
  }

  /** Rows in a rejects/ file: by identity hash (equal hashes are equal rows, equal lines). */
  static final class ByHashOrder implements Comparator<PrepareJob.HashKey>, Serializable {
    @Override
    public int compare(PrepareJob.HashKey a, PrepareJob.HashKey b) {
      int c = Long.compare(a.hi(), b.hi());
      return c != 0 ? c : Long.compare(a.lo(), b.lo());
    }
  }

  /** The values of a sorted partition. */
  private record Values(java.util.Iterator<Tuple2<PrepareJob.HashKey, Outcome>> it)
      implements java.util.Iterator<Outcome> {
    @Override
    public boolean hasNext() {
      return it.hasNext();
    }

    @Override
    public Outcome next() {
      return it.next()._2();
    }
  }
}
