package io.laketune.prep.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import io.laketune.config.RunConfigLoader;
import io.laketune.prep.config.PrepConfig.AddBos;
import io.laketune.prep.config.PrepConfig.AlpacaPrompt;
import io.laketune.prep.config.PrepConfig.FormatType;
import io.laketune.prep.config.PrepConfig.LengthPolicy;
import io.laketune.prep.config.PrepConfig.PackMode;
import io.laketune.prep.config.PrepConfig.Source;
import io.laketune.prep.config.PrepConfig.TrainOn;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the laketune.prep section of a HOCON run file over data-prep's reference.conf, with
 * -Dlaketune.prep.KEY=VALUE and --set KEY=VALUE on top, into a {@link PrepConfig}.
 *
 * <p>Every mistake is an {@link IllegalArgumentException} with one sentence that names the key,
 * where it was set (file: line), and what is allowed: keys that reference.conf does not have, values
 * of the wrong kind, values out of range.
 */
public final class PrepConfigParser {

  public static final String ROOT = "laketune.prep";

  /** Keys below these take any name: they are passed through, or checked here (views). */
  private static final List<String> FREE_FORM = List.of("format.template_args", "source.views", "tenant.inputs");

  private PrepConfigParser() {}

  /**
   * Parses a run file.
   *
   * @param file the HOCON run file
   * @param sets --set arguments, "KEY=VALUE" with KEY relative to laketune.prep or starting with
   *     "laketune."
   */
  public static PrepConfig load(Path file, List<String> sets) {
    return read(loader().load(file, sets), false);
  }

  /** Parses an already-read run file (tests, notebooks); see {@link #load}. */
  public static PrepConfig parse(Config user, List<String> sets) {
    return read(loader().layer(user, sets), false);
  }

  /**
   * The configuration a prepared dataset's manifest records — the versions of the tables it read
   * written in — to prepare it again, with --set on top (output=..., overwrite=true).
   *
   * @throws IllegalArgumentException when dataset is not a prepared dataset
   */
  public static PrepConfig fromManifest(String dataset, List<String> sets, org.apache.hadoop.conf.Configuration conf)
      throws java.io.IOException {
    io.laketune.prep.write.Manifest m =
        io.laketune.prep.write.Manifest.read(new org.apache.hadoop.fs.Path(dataset), conf);
    Config user = com.typesafe.config.ConfigFactory.parseString("laketune.prep " + m.config(),
        com.typesafe.config.ConfigParseOptions.defaults().setOriginDescription(dataset + "/manifest.json"));
    return m.source() != null && "dataframe".equals(m.source().format())
        ? parseForDataFrame(user, sets) : parse(user, sets);
  }

  /**
   * Parses the configuration of a DataFrame handed to {@code Prepare.prepare}: the DataFrame is the
   * input, so laketune.prep.input, source.format and the keys that name a table must be left unset.
   */
  public static PrepConfig parseForDataFrame(Config user, List<String> sets) {
    return read(loader().layer(user, sets), true);
  }

  private static RunConfigLoader loader() {
    return new RunConfigLoader(ROOT, FREE_FORM, "data-prep's reference.conf");
  }

  private static PrepConfig read(Config c, boolean dataFrame) {
    PrepValues v = new PrepValues(c);
    Map<String, List<String>> tenantInputs = SourceConfig.tenantInputs(v, dataFrame);
    List<String> input = v.stringOrList("input");
    if (!tenantInputs.isEmpty()) {
      // A tenant per input: the inputs are every tenant's paths, and the checks below apply to them.
      tenantInputs.values().forEach(input::addAll);
    }
    Source source = dataFrame ? SourceConfig.dataFrameSource(v, input) : SourceConfig.source(v, input);
    String output = v.nonEmpty("output", "the dataset directory to create");
    String tokenizer = v.nonEmpty("tokenizer", "the model directory that holds tokenizer.json");
    FormatType type = v.choice("format.type", FormatType.class);
    Map<String, String> fields = v.names("format.fields");
    Map<String, String> roles = v.names("format.roles");
    Map<String, Object> templateArgs = v.object("format.template_args");
    AlpacaPrompt alpacaPrompt = v.choice("format.alpaca_prompt", AlpacaPrompt.class);
    String trainOnText = v.oneOf("labels.train_on", List.of("auto", "completion", "all"));
    TrainOn trainOn = switch (trainOnText) {
      case "all" -> TrainOn.ALL;
      case "completion" -> TrainOn.COMPLETION;
      default -> type == FormatType.TEXT ? TrainOn.ALL : TrainOn.COMPLETION;
    };
    if (type == FormatType.TEXT && trainOn == TrainOn.COMPLETION) {
      throw v.bad("labels.train_on", "is completion, but format.type = text has no completion: use all or auto");
    }
    String addBosText = v.oneOf("labels.add_bos", List.of("auto", "true", "false"));
    AddBos addBos = AddBos.valueOf(addBosText.toUpperCase(Locale.ROOT));
    boolean addEos = v.bool("labels.add_eos");
    int seqLen = (int) v.longIn("length.seq_len", 2, 1 << 24);
    LengthPolicy policy = v.choice("length.policy", LengthPolicy.class);
    long maxRecordBytes = v.bytesIn("length.max_record_bytes", 16, Integer.MAX_VALUE - 64);
    PackMode packMode = v.choice("pack.mode", PackMode.class);
    int openRows = (int) v.longIn("pack.open_rows", 1, 1 << 20);
    double validationFraction = v.doubleIn("split.validation_fraction", 0, false, 1, true);
    String splitKey = v.nonEmpty("split.key", "\"content\" or the name of an id field");
    boolean dedup = v.bool("dedup");
    long seed = v.longIn("seed", Long.MIN_VALUE, Long.MAX_VALUE);
    double maxRejectFraction = v.doubleIn("rejects.max_fraction", 0, false, 1, false);
    long shardTokens = v.longIn("output_shards.shard_tokens", 1, Long.MAX_VALUE);
    long splitBytes = v.bytesIn("read.split_bytes", 1, Long.MAX_VALUE);
    int progressSeconds = (int) v.longIn("progress_seconds", 0, 86400);
    boolean overwrite = v.bool("overwrite");
    String tenantColumn = v.string("tenant.column").trim();
    if (!tenantInputs.isEmpty() && !tenantColumn.isEmpty()) {
      throw v.bad("tenant.column", "is set, but tenant.inputs already names each record's tenant by the file it is"
          + " in: keep one of them");
    }
    String resolvedJson = c.root().render(ConfigRenderOptions.concise());
    return new PrepConfig(
        input,
        source,
        output,
        overwrite,
        tokenizer,
        new PrepConfig.Format(type, fields, roles, templateArgs, alpacaPrompt),
        new PrepConfig.Labels(trainOn, addBos, addEos),
        new PrepConfig.Length(seqLen, policy, maxRecordBytes),
        new PrepConfig.Pack(packMode, openRows),
        new PrepConfig.Split(validationFraction, splitKey),
        dedup,
        seed,
        maxRejectFraction,
        shardTokens,
        splitBytes,
        progressSeconds,
        tenantColumn,
        tenantInputs,
        resolvedJson);
  }

}
