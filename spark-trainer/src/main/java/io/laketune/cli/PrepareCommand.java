package io.laketune.cli;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.job.PrepareJob;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code laketune prepare --config FILE}: JSONL → Parquet token shards + manifest.json (see
 * data-prep's reference.conf). Under spark-submit it runs on the cluster spark-submit names; on its
 * own it runs Spark in local mode on all cores.
 */
@Command(name = "prepare", mixinStandardHelpOptions = true,
    description = "Tokenize JSONL into versioned, training-ready Parquet shards (a Spark job).")
public final class PrepareCommand implements Callable<Integer> {

  @Option(names = "--config", required = true, description = "HOCON run file with a laketune.prep section.")
  Path config;

  @Option(names = "--set", description = "Override a key, e.g. --set length.seq_len=4096 (repeatable).")
  List<String> sets = new ArrayList<>();

  @Option(names = "--master", description = "Spark master when not run by spark-submit (default local[*]).")
  String master;

  @Override
  public Integer call() throws Exception {
    PrepConfig prep = PrepConfigParser.load(config, sets);
    SparkSession spark = LocalSpark.session("laketune prepare", master, "local[*]");
    try {
      PrepareJob.run(spark, prep, new PrintStream(System.out, true, StandardCharsets.UTF_8));
    } finally {
      spark.stop();
    }
    return 0;
  }
}
