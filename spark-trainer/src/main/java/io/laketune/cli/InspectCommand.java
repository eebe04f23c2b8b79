package io.laketune.cli;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.inspect.Inspect;
import io.laketune.prep.inspect.InspectView;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code laketune inspect --config FILE [--n N]}: the first N prepared rows as text with the trained
 * spans marked, and their token ids, labels, positions and document boundaries; before the dataset
 * is prepared, the first N input lines as the job would tokenize them. No Spark.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Show prepared examples with trained spans marked and their token ids and labels.")
public final class InspectCommand implements Callable<Integer> {

  @Option(names = "--config", required = true, description = "HOCON run file with a laketune.prep section.")
  Path config;

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
    PrepConfig prep = PrepConfigParser.load(config, sets);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    Inspect.run(prep, n, split, new InspectView.Options(color, !noTokens), new Configuration(), out);
    return 0;
  }
}
