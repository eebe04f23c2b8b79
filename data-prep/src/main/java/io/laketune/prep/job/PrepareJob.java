package io.laketune.prep.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.format.RecordFormat;
import io.laketune.prep.config.PrepConfig.SourceFormat;
import io.laketune.prep.source.TableSource;
import io.laketune.prep.split.Shuffle;
import io.laketune.prep.tokenize.ExampleTokenizer;
import io.laketune.prep.tokenize.TokenizerCache;
import io.laketune.prep.write.Manifest;
import io.laketune.prep.write.ShardSchema;
import io.laketune.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * {@code laketune prepare}: JSONL or table rows in the data lake → Parquet token shards +
 * manifest.json.
 *
 * <pre>
 * JSONL files ─► chunks ─(1 task each)─► lines ─┐
 * table / query / DataFrame ─► selected rows ───┴─► Outcome per record (example | rejected | dropped)
 *   ├─ rejected ─► rejects/part-NNNNN.jsonl   (per chunk; for tables sorted by row identity)
 *   └─ examples ─► dedup (optional, first in input order wins)
 *                ─► key (split, shard, seeded order) ─► one partition per shard, sorted
 *                ─► pack to seq_len ─► train|validation/shard-NNNNN.parquet
 * manifest.json last, then the staging directory is renamed to the output.
 * </pre>
 *
 * Output bytes never depend on Spark's partitioning, timing or task attempts: shard membership and
 * order come from content hashes and the seed, ties from the input order (file and line, or a
 * table row's identity hash), file names from shard numbers.
 */
public final class PrepareJob {

  private static final ObjectMapper JSON = new ObjectMapper();

  private PrepareJob() {}

  /**
   * Runs the job on the given session (local or cluster).
   *
   * @param log where progress lines and the summary go
   * @throws IllegalArgumentException for every problem the user can fix: config, input, too many
   *     rejects; the message says which and how
   */
  public static Manifest run(SparkSession spark, PrepConfig config, PrintStream log) throws IOException {
    if (config.source().format() == SourceFormat.DATAFRAME) {
      throw new IllegalArgumentException("This configuration is for a DataFrame: pass the DataFrame to"
          + " io.laketune.prep.Prepare.prepare.");
    }
    return run(spark, config, null, log);
  }

  /** Runs the job on a DataFrame's rows: the door of {@code io.laketune.prep.Prepare}. */
  public static Manifest runDataFrame(SparkSession spark, PrepConfig config, Dataset<Row> df, PrintStream log)
      throws IOException {
    return run(spark, config, df, log);
  }

  /**
   * Runs the job on a DataFrame's rows (the DataFrame API) or, when df is null, on what the
   * configuration names.
   */
  private static Manifest run(SparkSession spark, PrepConfig config, Dataset<Row> df, PrintStream log) throws IOException {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration hadoop = sc.hadoopConfiguration();
    HadoopConf conf = new HadoopConf(new Configuration(hadoop));

    Tokenizer tokenizer = TokenizerCache.get(config.tokenizer(), null, hadoop);
    // Fail here, not in every task, when the tokenizer lacks what the configuration needs.
    RecordFormat.of(config, tokenizer);
    new ExampleTokenizer(tokenizer, config);
    String fingerprint = tokenizer.fingerprint();

    // Resolved before anything is written: a wrong path, version, column or filter stops here.
    Input input = df != null ? new TableInput(TableSource.ofDataFrame(df, config))
        : config.source().format().tabular() ? new TableInput(TableSource.resolve(spark, config))
        : JsonlInput.of(config, hadoop);
    DatasetDir dir = DatasetDir.create(config.output(), config.overwrite(), hadoop);
    String staging = dir.staging().toString();
    try (Progress progress = new Progress(spark.sparkContext(), log, config.progressSeconds())) {
      Manifest manifest = prepare(sc, config, conf, input, staging, fingerprint, tokenizer, progress, dir);
      manifest.write(dir.staging(), hadoop);
      dir.commit();
      Summary.print(log, manifest, dir.output().toString(), progress.seconds(), sc.defaultParallelism());
      return manifest;
    } catch (TooManyRejects e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    } catch (RuntimeException | IOException e) {
      dir.abandon();
      throw e;
    }
  }

  private static Manifest prepare(JavaSparkContext sc, PrepConfig config, HadoopConf conf,
      Input input, String staging, String fingerprint, Tokenizer tokenizer,
      Progress progress, DatasetDir dir) throws IOException {
    JavaRDD<Outcome> outcomes = input.outcomes(sc, config, conf, fingerprint, progress)
        .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      Tally tally = outcomes.mapPartitions(it -> List.of(Tally.of(it)).iterator()).reduce(Tally::merge);

      progress.stage("writing rejects");
      sc.setJobDescription("laketune prepare: write rejects");
      List<RejectsTask.RejectsFile> rejectFiles =
          input.writeRejects(outcomes, tally, new RejectsTask(conf, staging));
      checkRejects(tally, config, dir, input.unit());

      JavaRDD<Outcome.Example> examples = outcomes
          .filter(o -> o instanceof Outcome.Example)
          .map(o -> (Outcome.Example) o);
      Tally before = tally;
      if (config.dedup()) {
        progress.stage("removing duplicates");
        sc.setJobDescription("laketune prepare: dedup");
        // duplicates are looked for within a tenant: two tenants may hold the same text
        examples = examples
            .mapToPair(e -> new Tuple2<>(new DedupKey(e.hashHi(), e.hashLo(), e.tenant()), e))
            .reduceByKey((a, b) -> a.before(b) ? a : b)
            .values()
            .persist(StorageLevel.MEMORY_AND_DISK());
        tally = examples.mapPartitions(it -> {
          Tally t = new Tally();
          it.forEachRemaining(t::add);
          return List.of(t).iterator();
        }).fold(new Tally(), Tally::merge);
      }
      Map<String, long[]> splitTokens = new java.util.TreeMap<>();
      if (config.tenants()) {
        tally.tenants.forEach((t, c) -> splitTokens.put(t, c.splitTokens));
      } else {
        splitTokens.put("", tally.splitTokens);
      }
      ShardLayout layout = new ShardLayout(splitTokens, config.shardTokens());
      List<Manifest.ShardInfo> shardInfos = List.of();
      if (layout.partitions() > 0) {
        progress.stage("packing and writing shards");
        sc.setJobDescription("laketune prepare: shuffle, pack, write shards");
        long seed = config.seed();
        ShardTask shardTask = new ShardTask(config, conf, staging, layout);
        JavaPairRDD<ShardKey, Outcome.Example> keyed = examples.mapToPair(e -> {
          long[] hash = e.hash();
          int partition = layout.partition(e.tenant(), e.validation(),
              Shuffle.shard(seed, hash, layout.shards(e.tenant(), e.validation())));
          return new Tuple2<>(new ShardKey(partition, Shuffle.order(seed, hash), e.inputHi(), e.inputLo()), e);
        });
        shardInfos = keyed
            .repartitionAndSortWithinPartitions(new ShardKey.ByShard(layout.partitions()), ShardKey.ORDER)
            .mapPartitionsWithIndex((p, it) -> List.of(shardTask.write(p, it)).iterator(), true)
            .collect();
      }
      return manifest(config, input, tokenizer, fingerprint, before, tally, shardInfos, rejectFiles, staging, conf);
    } finally {
      outcomes.unpersist(false);
    }
  }

  private static void checkRejects(Tally tally, PrepConfig config, DatasetDir dir, String unit) {
    long rejected = tally.rejectedTotal();
    if (tally.read > 0 && rejected > config.maxRejectFraction() * tally.read) {
      throw new TooManyRejects(String.format(Locale.ROOT,
          "%,d of %,d %s (%.2f%%) were rejected, more than rejects.max_fraction = %s allows; "
              + "see %s/rejects/ for the %s and reason of each, then fix the input or raise "
              + "laketune.prep.rejects.max_fraction.",
          rejected, tally.read, unit, 100.0 * rejected / tally.read, config.maxRejectFraction(), dir.staging(),
          unit.equals("lines") ? "file, line" : "identity"));
    }
    if (tally.read == 0) {
      throw new IllegalArgumentException(unit.equals("lines")
          ? "laketune.prep.input: the input files hold no lines; nothing to prepare."
          : "laketune.prep.source: the source has no rows" + (config.source().filter().isEmpty() ? ""
              : " where source.filter holds") + "; nothing to prepare.");
    }
  }

  /**
   * The manifest of the dataset and, for a dataset of tenants, of each tenant's directory
   * tenants/NAME/ (written into the staging directory here): its counts, splits and shards, with
   * paths relative to that directory, so each is a dataset of its own. The top manifest's splits list
   * every shard and its tenants block each tenant's figures.
   *
   * @param before the tally of every outcome; kept the tally after dedup (the same without dedup)
   */
  private static Manifest manifest(PrepConfig config, Input input, Tokenizer tokenizer, String fingerprint,
      Tally before, Tally kept, List<Manifest.ShardInfo> shardInfos, List<RejectsTask.RejectsFile> rejectFiles,
      String staging, HadoopConf conf) throws IOException {
    Integer bos = tokenizer.bosId().isPresent() ? tokenizer.bosId().getAsInt() : null;
    int eos = ExampleTokenizer.eosId(tokenizer);
    int pad = tokenizer.padId().orElse(eos >= 0 ? eos : 0);
    JsonNode resolved = JSON.readTree(input.pinnedConfig());
    Manifest.TokenizerInfo tokenizerInfo = new Manifest.TokenizerInfo(config.tokenizer(), fingerprint, bos,
        eos >= 0 ? eos : null, pad);
    Map<String, Manifest.TenantInfo> tenants = null;
    if (config.tenants()) {
      tenants = new java.util.TreeMap<>();
      for (Map.Entry<String, Tally> e : before.tenants.entrySet()) {
        String prefix = ShardLayout.prefix(e.getKey());
        List<Manifest.ShardInfo> own = shardInfos.stream().filter(s -> s.path().startsWith(prefix))
            .map(s -> new Manifest.ShardInfo(s.path().substring(prefix.length()), s.rows(), s.examples(), s.tokens(),
                s.trainedTokens()))
            .toList();
        Tally after = kept.tenants.getOrDefault(e.getKey(), new Tally());
        Map<String, Manifest.SplitInfo> splits = splits(own);
        Manifest.Counts counts = counts(e.getValue(), after, splits);
        tenants.put(e.getKey(), new Manifest.TenantInfo(prefix.substring(0, prefix.length() - 1), counts,
            summary(splits)));
        new Manifest(ShardSchema.FORMAT, ShardSchema.VERSION, "laketune data-prep", config.length().seqLen(),
            config.pack().mode().name().toLowerCase(Locale.ROOT), config.labels().trainOn().name().toLowerCase(Locale.ROOT),
            tokenizerInfo, counts, splits, new Manifest.Rejects(0, List.of()), input.info(), resolved, e.getKey(), null)
            .write(new org.apache.hadoop.fs.Path(staging, prefix), conf.get());
      }
    }
    Map<String, Manifest.SplitInfo> splits = splits(shardInfos);
    Manifest.Counts counts = counts(before, kept, splits);
    return new Manifest(
        ShardSchema.FORMAT,
        ShardSchema.VERSION,
        "laketune data-prep",
        config.length().seqLen(),
        config.pack().mode().name().toLowerCase(Locale.ROOT),
        config.labels().trainOn().name().toLowerCase(Locale.ROOT),
        tokenizerInfo,
        counts,
        splits,
        new Manifest.Rejects(rejectFiles.stream().mapToLong(RejectsTask.RejectsFile::lines).sum(),
            rejectFiles.stream().map(RejectsTask.RejectsFile::path).toList()),
        input.info(),
        resolved,
        null,
        tenants);
  }

  /** train and validation of these shards, by the split directory each lies in. */
  private static Map<String, Manifest.SplitInfo> splits(List<Manifest.ShardInfo> shardInfos) {
    Map<String, Manifest.SplitInfo> splits = new LinkedHashMap<>();
    for (String split : List.of("train", "validation")) {
      List<Manifest.ShardInfo> shards = shardInfos.stream()
          .filter(s -> s.path().startsWith(split + "/") || s.path().contains("/" + split + "/"))
          .sorted(Comparator.comparing(Manifest.ShardInfo::path))
          .toList();
      splits.put(split, new Manifest.SplitInfo(
          shards.stream().mapToLong(Manifest.ShardInfo::examples).sum(),
          shards.stream().mapToLong(Manifest.ShardInfo::rows).sum(),
          shards.stream().mapToLong(Manifest.ShardInfo::tokens).sum(),
          shards.stream().mapToLong(Manifest.ShardInfo::trainedTokens).sum(),
          shards));
    }
    return splits;
  }

  /** The same splits without their shard lists: what the top manifest shows of a tenant. */
  private static Map<String, Manifest.SplitInfo> summary(Map<String, Manifest.SplitInfo> splits) {
    Map<String, Manifest.SplitInfo> out = new LinkedHashMap<>();
    splits.forEach((k, v) -> out.put(k, new Manifest.SplitInfo(v.examples(), v.rows(), v.tokens(), v.trainedTokens(),
        List.of())));
    return out;
  }

  private static Manifest.Counts counts(Tally before, Tally after, Map<String, Manifest.SplitInfo> splits) {
    long kept = splits.values().stream().mapToLong(Manifest.SplitInfo::examples).sum();
    return new Manifest.Counts(before.read, kept, before.rejectedTotal(), before.rejected, before.droppedTotal(),
        before.dropped, before.examples - after.examples, after.truncated);
  }

  /** Too many rejects: the staging directory is kept, so the user can read rejects/. */
  private static final class TooManyRejects extends RuntimeException {
    TooManyRejects(String message) {
      super(message, null, false, false);
    }
  }

  /** The 128-bit content hash as a shuffle key. */
  record HashKey(long hi, long lo) implements Serializable {}

  /** The content hash within a tenant: what dedup compares. */
  record DedupKey(long hi, long lo, String tenant) implements Serializable {}

}
