package io.laketune.cli;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.job.PrepareJob;
import io.laketune.prep.source.LakehouseConf;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code laketune prepare --config FILE}: JSONL, Parquet, Delta or Iceberg tables, catalog tables or
 * a SQL query → Parquet token shards + manifest.json (see data-prep's reference.conf); {@code --from
 * DATASET} prepares again from what a dataset's manifest records. Under spark-submit it runs on the
 * cluster spark-submit names; on its own it runs Spark in local mode on all cores.
 */
@Command(name = "prepare", mixinStandardHelpOptions = true,
    description = "Tokenize JSONL or table rows into versioned, training-ready Parquet shards (a Spark job).")
public final class PrepareCommand implements Callable<Integer> {

  @Option(names = "--config", description = "HOCON run file with a laketune.prep section.")
  Path config;

  @Option(names = "--from", paramLabel = "DATASET", description = "Prepare again as DATASET was prepared: the"
      + " configuration its manifest records, with the table versions it read (--set output=... to write elsewhere).")
  String from;

  @Option(names = "--set", description = "Override a key, e.g. --set length.seq_len=4096 (repeatable).")
  List<String> sets = new ArrayList<>();

  @Option(names = "--master", description = "Spark master when not run by spark-submit (default local[*]).")
  String master;

  @Override
  public Integer call() throws Exception {
    if ((config == null) == (from == null)) {
      throw new IllegalArgumentException("laketune prepare needs either --config RUN_FILE or --from DATASET.");
    }
    PrepConfig prep = from != null ? PrepConfigParser.fromManifest(from, sets, new Configuration())
        : PrepConfigParser.load(config, sets);
    // What the table sources need (Delta's extension and catalog) must be set before the session exists.
    SparkSession spark = LocalSpark.session("laketune prepare", master, "local[*]",
        conf -> LakehouseConf.apply(prep, conf));
    try {
      PrepareJob.run(spark, prep, new PrintStream(System.out, true, StandardCharsets.UTF_8));
    } finally {
      spark.stop();
    }
    return 0;
  }
}
