package io.laketune.cli;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.inspect.Inspect;
import io.laketune.prep.inspect.InspectView;
import io.laketune.prep.source.LakehouseConf;
import io.laketune.prep.write.Manifest;
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
 * {@code laketune inspect --config FILE [--n N]}: where the prepared dataset came from (source table,
 * version or snapshot, query), then its first N rows as text with the trained spans marked, and
 * their token ids, labels, positions and document boundaries; before the dataset is prepared, the
 * first N input lines or table rows as the job would tokenize them. {@code --dataset DIR} does the
 * same for a dataset directory; {@code --run DIR} shows the lineage of a training run's final
 * outputs and checkpoints. Spark (local) only for table sources not prepared yet.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Show where a dataset or run came from, and prepared examples with trained spans marked.")
public final class InspectCommand implements Callable<Integer> {

  @Option(names = "--config", description = "HOCON run file with a laketune.prep section.")
  Path config;

  @Option(names = "--dataset", paramLabel = "DIR", description = "A prepared dataset directory.")
  String dataset;

  @Option(names = "--run", paramLabel = "DIR", description = "A training run's output directory: its lineage.")
  String run;

  @Option(names = "--set", description = "Override a key, e.g. --set format.type=chat (repeatable).")
  List<String> sets = new ArrayList<>();

  @Option(names = "--n", defaultValue = "3", description = "Rows to show (default ${DEFAULT-VALUE}).")
  int n;

  @Option(names = "--split", defaultValue = "train", description = "train or validation (default ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--no-tokens", description = "Only the text, without the per-token table.")
  boolean noTokens;

  @Option(names = "--color", description = "Show trained text in green instead of between ⟦ ⟧.")
  boolean color;

  @Override
  public Integer call() throws Exception {
    if (n <= 0) {
      throw new IllegalArgumentException("--n must be positive, got " + n);
    }
    int given = (config != null ? 1 : 0) + (dataset != null ? 1 : 0) + (run != null ? 1 : 0);
    if (given != 1) {
      throw new IllegalArgumentException("laketune inspect needs one of --config RUN_FILE, --dataset DIR or --run DIR.");
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    InspectView.Options options = new InspectView.Options(color, !noTokens);
    Configuration conf = new Configuration();
    if (run != null) {
      RunLineageView.print(run, conf, out);
      return 0;
    }
    if (dataset != null) {
      Inspect.dataset(dataset, n, split, options, conf, out);
      return 0;
    }
    PrepConfig prep = PrepConfigParser.load(config, sets);
    org.apache.hadoop.fs.Path output = new org.apache.hadoop.fs.Path(prep.output());
    boolean prepared = output.getFileSystem(conf).exists(new org.apache.hadoop.fs.Path(output, Manifest.FILE_NAME));
    if (prepared || !prep.source().format().tabular()) {
      Inspect.run(prep, n, split, options, conf, out);
      return 0;
    }
    // A table source not prepared yet: read its first rows with a local Spark session.
    SparkSession spark = LocalSpark.session("laketune inspect", null, "local[1]", c -> LakehouseConf.apply(prep, c));
    try {
      Inspect.run(prep, n, split, options, spark.sparkContext().hadoopConfiguration(), out, spark);
    } finally {
      spark.stop();
    }
    return 0;
  }
}
