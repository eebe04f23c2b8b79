package io.laketune.prep;

import com.typesafe.config.Config;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfig.SourceFormat;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.job.PrepareJob;
import io.laketune.prep.reader.PreparedDataset;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Preparation for pipelines that already hold a DataFrame: the same job as {@code laketune
 * prepare} — the DataFrame's rows are records exactly as a table source's are (see reference.conf's
 * source section), with the same formats, rejects, dedup, split, packing and manifest — run on the
 * DataFrame's own SparkSession.
 *
 * <p>The configuration is a laketune.prep section without input or source.format (the DataFrame is
 * the input); source.filter, source.key and source.partitions apply. Time travel belongs in the
 * DataFrame ({@code spark.read().format("delta").option("versionAsOf", 12)}); the manifest records
 * the DataFrame's data files.
 */
public final class Prepare {

  private Prepare() {}

  /**
   * Prepares the DataFrame's rows into the dataset at laketune.prep.output.
   *
   * @param config a parsed configuration from {@link #config}
   * @return the prepared dataset, opened for reading
   * @throws IllegalArgumentException for anything the caller can fix (configuration, a column the
   *     format needs and the DataFrame lacks, too many rejects), with one sentence saying which
   */
  public static PreparedDataset prepare(Dataset<Row> df, PrepConfig config) {
    return prepare(df, config, quiet());
  }

  /** As {@link #prepare(Dataset, PrepConfig)}, with progress lines and the summary written to log. */
  public static PreparedDataset prepare(Dataset<Row> df, PrepConfig config, PrintStream log) {
    if (config.source().format() != SourceFormat.DATAFRAME) {
      throw new IllegalArgumentException("The configuration names an input of its own (source.format = "
          + config.source().format().name().toLowerCase(java.util.Locale.ROOT)
          + "); parse it with Prepare.config to prepare a DataFrame.");
    }
    try {
      PrepareJob.runDataFrame(df.sparkSession(), config, df, log);
      return PreparedDataset.open(config.output(), df.sparkSession().sparkContext().hadoopConfiguration());
    } catch (IOException e) {
      throw new UncheckedIOException("preparing " + config.output() + " failed: " + e.getMessage(), e);
    }
  }

  /** Parses the laketune.prep section and prepares; see {@link #prepare(Dataset, PrepConfig)}. */
  public static PreparedDataset prepare(Dataset<Row> df, Config config) {
    return prepare(df, config(config));
  }

  /**
   * A configuration for a DataFrame: {@code config} holds a laketune.prep section over data-prep's
   * reference.conf, as a run file would (-Dlaketune.prep.KEY overrides it too).
   */
  public static PrepConfig config(Config config) {
    return PrepConfigParser.parseForDataFrame(config, List.of());
  }

  private static PrintStream quiet() {
    return new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
  }
}
