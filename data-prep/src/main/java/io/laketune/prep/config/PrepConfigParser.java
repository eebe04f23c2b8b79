package io.laketune.prep.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigList;
import io.laketune.config.RunConfigLoader;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.laketune.prep.config.PrepConfig.AddBos;
import io.laketune.prep.config.PrepConfig.AlpacaPrompt;
import io.laketune.prep.config.PrepConfig.FormatType;
import io.laketune.prep.config.PrepConfig.LengthPolicy;
import io.laketune.prep.config.PrepConfig.PackMode;
import io.laketune.prep.config.PrepConfig.Source;
import io.laketune.prep.config.PrepConfig.SourceFormat;
import io.laketune.prep.config.PrepConfig.TableRef;
import io.laketune.prep.config.PrepConfig.TrainOn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

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

  /** The keys of one source.views entry. */
  private static final List<String> VIEW_KEYS =
      List.of("format", "path", "table", "version", "timestamp", "snapshot_id", "as_of");

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
    Values v = new Values(c);
    Map<String, List<String>> tenantInputs = tenantInputs(v, dataFrame);
    List<String> input = v.stringOrList("input");
    if (!tenantInputs.isEmpty()) {
      // A tenant per input: the inputs are every tenant's paths, and the checks below apply to them.
      tenantInputs.values().forEach(input::addAll);
    }
    Source source = dataFrame ? dataFrameSource(v, input) : source(v, input);
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

  /**
   * tenant.inputs: a tenant per input, NAME = a JSONL path, directory or glob, or a list of them. It
   * stands instead of laketune.prep.input; tables name their tenant with a column (tenant.column), which
   * a query can add as a literal per table.
   */
  private static Map<String, List<String>> tenantInputs(Values v, boolean dataFrame) {
    Map<String, List<String>> out = new java.util.TreeMap<>();
    for (String name : v.c.getObject("tenant.inputs").keySet()) {
      String key = "tenant.inputs.\"" + name + "\"";
      if (!PrepConfig.TENANT_NAME.matcher(name).matches()) {
        throw v.bad(key, "names a tenant \"" + name + "\" that cannot name a directory: use letters, digits, '.',"
            + " '_' and '-', at most 128, not starting with '.'");
      }
      List<String> paths = v.stringOrList(key);
      if (paths.isEmpty()) {
        throw v.bad(key, "is empty: give the JSONL files of tenant " + name + " (a file, a directory or a glob, or a"
            + " list of them)");
      }
      out.put(name, paths);
    }
    if (out.isEmpty()) {
      return out;
    }
    if (dataFrame) {
      throw v.bad("tenant.inputs", "is set, but the DataFrame given to Prepare.prepare is the input: name each row's"
          + " tenant with a column (tenant.column)");
    }
    if (!v.stringOrList("input").isEmpty()) {
      throw v.bad("input", "is set, but tenant.inputs names the inputs, each tenant's own: move these paths under"
          + " tenant.inputs, or remove tenant.inputs");
    }
    SourceFormat format = v.choice("source.format", SourceFormat.class, SourceFormat.DATAFRAME);
    if (format != SourceFormat.JSONL) {
      throw v.bad("tenant.inputs", "is set, but source.format = " + name(format) + ": a tenant per input is for JSONL"
          + " files; for tables set tenant.column, adding it per table in a query if need be (SELECT *, 'acme' AS"
          + " tenant FROM t1 UNION ALL ...)");
    }
    return out;
  }

  /** The source section, checked against laketune.prep.input. */
  private static Source source(Values v, List<String> input) {
    SourceFormat format = v.choice("source.format", SourceFormat.class, SourceFormat.DATAFRAME);
    String table = v.string("source.table").trim();
    String query = v.string("source.query").trim();
    switch (format) {
      case JSONL, PARQUET -> {
        if (input.isEmpty()) {
          throw v.bad("input", "is empty: give the " + (format == SourceFormat.JSONL ? "JSONL" : "Parquet")
              + " to read (a file, a directory or a glob, or a list of them)");
        }
      }
      case DELTA, ICEBERG -> {
        if (input.size() != 1) {
          throw v.bad("input", (input.isEmpty() ? "is empty" : "has " + input.size() + " paths")
              + ": source.format = " + name(format) + " reads one table, give its directory");
        }
      }
      case TABLE, SQL -> {
        if (!input.isEmpty()) {
          throw v.bad("input", "is set, but source.format = " + name(format) + " reads "
              + (format == SourceFormat.TABLE ? "source.table" : "source.query") + ": remove input");
        }
      }
      default -> throw new IllegalStateException("not a source.format value: " + format);
    }
    if (format == SourceFormat.TABLE && table.isEmpty()) {
      throw v.bad("source.table", "is empty: give the catalog name of the table to read, like sales.chats");
    }
    if (format != SourceFormat.TABLE && !table.isEmpty()) {
      throw v.bad("source.table", "is set, but source.format = " + name(format) + " does not read a catalog"
          + " table: use source.format = table, or remove source.table");
    }
    if (format == SourceFormat.SQL && query.isEmpty()) {
      throw v.bad("source.query", "is empty: give the Spark SQL query whose rows to prepare");
    }
    if (format != SourceFormat.SQL && !query.isEmpty()) {
      throw v.bad("source.query", "is set, but source.format = " + name(format) + ": use source.format = sql,"
          + " or remove source.query");
    }
    Map<String, TableRef> views = views(v);
    if (format != SourceFormat.SQL && !views.isEmpty()) {
      throw v.bad("source.views", "is set, but only source.format = sql reads views");
    }
    if (format == SourceFormat.SQL && firstSet(v, "source.") != null) {
      throw v.bad(firstSet(v, "source."), "is set, but a query has no version of its own: pin the tables it"
          + " reads in source.views");
    }
    TableRef main = tableRef(v, "source.", format, input, table);
    return rest(v, main, query, views);
  }

  /** A DataFrame's source section: only filter, key and partitions apply. */
  private static Source dataFrameSource(Values v, List<String> input) {
    if (!input.isEmpty()) {
      throw v.bad("input", "is set, but the DataFrame given to Prepare.prepare is the input: remove input");
    }
    for (String key : List.of("source.table", "source.query")) {
      if (!v.string(key).isBlank()) {
        throw v.bad(key, "is set, but the DataFrame given to Prepare.prepare is the input: remove it");
      }
    }
    if (!v.string("source.format").equals("jsonl")) {
      throw v.bad("source.format", "is set, but the DataFrame given to Prepare.prepare is the input: remove it");
    }
    if (!views(v).isEmpty()) {
      throw v.bad("source.views", "is set, but the DataFrame given to Prepare.prepare is the input: remove it");
    }
    String set = firstSet(v, "source.");
    if (set != null) {
      throw v.bad(set, "is set, but a DataFrame has no version of its own: time-travel in the DataFrame itself");
    }
    TableRef main = new TableRef(SourceFormat.DATAFRAME, List.of(), "", null, null, null, null);
    return rest(v, main, "", Map.of());
  }

  private static Source rest(Values v, TableRef main, String query, Map<String, TableRef> views) {
    String filter = v.string("source.filter").trim();
    String key = v.string("source.key").trim();
    if (main.format() == SourceFormat.JSONL) {
      for (String k : List.of("source.filter", "source.key")) {
        if (!v.string(k).isBlank()) {
          throw v.bad(k, "is set, but it applies to table sources, not to JSONL lines");
        }
      }
    }
    int partitions = (int) v.longIn("source.partitions", 0, 1 << 20);
    return new Source(main, query, views, filter, key, partitions);
  }

  /**
   * The version keys below prefix (source. or source.views.NAME.), checked against the format:
   * version and timestamp are Delta's, snapshot_id and as_of Iceberg's; a catalog table may be
   * either (checked when it is resolved).
   */
  private static TableRef tableRef(Values v, String prefix, SourceFormat format, List<String> paths, String table) {
    Long version = v.optionalLong(prefix + "version", 0);
    String timestamp = v.optionalString(prefix + "timestamp");
    Long snapshotId = v.optionalLong(prefix + "snapshot_id", Long.MIN_VALUE);
    String asOf = v.optionalString(prefix + "as_of");
    boolean delta = format == SourceFormat.DELTA || format == SourceFormat.TABLE;
    boolean iceberg = format == SourceFormat.ICEBERG || format == SourceFormat.TABLE;
    if (!delta && (version != null || timestamp != null)) {
      throw v.bad(prefix + (version != null ? "version" : "timestamp"), "is set, but it is a Delta table's"
          + " version and source.format is " + name(format) + (format == SourceFormat.ICEBERG
          ? ": use snapshot_id or as_of" : ": it has no versions"));
    }
    if (!iceberg && (snapshotId != null || asOf != null)) {
      throw v.bad(prefix + (snapshotId != null ? "snapshot_id" : "as_of"), "is set, but it is an Iceberg"
          + " table's snapshot and source.format is " + name(format) + (format == SourceFormat.DELTA
          ? ": use version or timestamp" : ": it has no snapshots"));
    }
    if (version != null && timestamp != null) {
      throw v.bad(prefix + "timestamp", "is set together with " + prefix + "version: give one of them");
    }
    if (snapshotId != null && asOf != null) {
      throw v.bad(prefix + "as_of", "is set together with " + prefix + "snapshot_id: give one of them");
    }
    if ((version != null || timestamp != null) && (snapshotId != null || asOf != null)) {
      throw v.bad(prefix + (snapshotId != null ? "snapshot_id" : "as_of"), "is set together with a Delta "
          + (version != null ? "version" : "timestamp") + ": a table is either Delta or Iceberg, give one");
    }
    return new TableRef(format, paths, table, version, timestamp, snapshotId, asOf);
  }

  /** The first version key set below prefix, or null. */
  private static String firstSet(Values v, String prefix) {
    for (String k : List.of("version", "timestamp", "snapshot_id", "as_of")) {
      if (!v.isNull(prefix + k)) {
        return prefix + k;
      }
    }
    return null;
  }

  /** source.views: name = { format, path | table, version | timestamp | snapshot_id | as_of }. */
  private static Map<String, TableRef> views(Values v) {
    Map<String, TableRef> out = new TreeMap<>();
    Config views;
    try {
      views = v.c.getConfig("source.views");
    } catch (ConfigException e) {
      throw v.wrong("source.views", "a section of views, like chats { format = delta, path = \"/lake/chats\" }");
    }
    for (String name : views.root().keySet()) {
      String prefix = "source.views." + name + ".";
      if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw v.bad("source.views." + name, "is not a view name Spark SQL accepts unquoted: use letters, digits and _");
      }
      if (views.root().get(name).valueType() != ConfigValueType.OBJECT) {
        throw v.wrong("source.views." + name, "a section like { format = delta, path = \"/lake/chats\" }");
      }
      for (String key : views.getConfig(name).root().keySet()) {
        if (!VIEW_KEYS.contains(key)) {
          throw v.bad(prefix + key, "is not a key of a view; a view has " + String.join(", ", VIEW_KEYS));
        }
      }
      if (!views.hasPath(name + ".format")) {
        throw v.bad("source.views." + name, "has no format: give format = parquet, delta, iceberg or table");
      }
      SourceFormat format = v.choice(prefix + "format", SourceFormat.class,
          SourceFormat.JSONL, SourceFormat.SQL, SourceFormat.DATAFRAME);
      List<String> paths = views.hasPath(name + ".path") ? v.stringOrList(prefix + "path") : List.of();
      String table = views.hasPath(name + ".table") ? v.nonEmpty(prefix + "table", "a catalog table name") : "";
      if (format == SourceFormat.TABLE ? table.isEmpty() || !paths.isEmpty() : paths.isEmpty() || !table.isEmpty()) {
        throw v.bad("source.views." + name, format == SourceFormat.TABLE
            ? "is a catalog table: give its table (and no path)" : "is " + name(format) + ": give its path (and no table)");
      }
      if ((format == SourceFormat.DELTA || format == SourceFormat.ICEBERG) && paths.size() != 1) {
        throw v.bad(prefix + "path", "has " + paths.size() + " paths: a " + name(format) + " view reads one table");
      }
      out.put(name, tableRef(v, prefix, format, paths, table));
    }
    return out;
  }

  private static String name(SourceFormat format) {
    return format.name().toLowerCase(Locale.ROOT);
  }

  private static String where(ConfigValue value) {
    return RunConfigLoader.where(value);
  }

  /** Typed getters whose errors name the key, its origin and what is allowed. */
  private static final class Values {
    final Config c;

    Values(Config c) {
      this.c = c;
    }

    IllegalArgumentException bad(String key, String problem) {
      String origin = c.hasPathOrNull(key) ? " (" + where(c.getValue(key)) + ")" : "";
      return new IllegalArgumentException(ROOT + "." + key + origin + " " + problem + ".");
    }

    IllegalArgumentException wrong(String key, String allowed) {
      String shown = c.hasPathOrNull(key) ? c.getValue(key).render(ConfigRenderOptions.concise()) : "nothing";
      return bad(key, "= " + shown + " is not allowed: it must be " + allowed);
    }

    String string(String key) {
      try {
        return c.getString(key);
      } catch (ConfigException e) {
        throw wrong(key, "a string");
      }
    }

    String nonEmpty(String key, String what) {
      String value = string(key).trim();
      if (value.isEmpty()) {
        throw bad(key, "is empty: give " + what);
      }
      return value;
    }

    boolean bool(String key) {
      try {
        return c.getBoolean(key);
      } catch (ConfigException e) {
        throw wrong(key, "true or false");
      }
    }

    long longIn(String key, long min, long max) {
      long value;
      try {
        value = c.getLong(key);
      } catch (ConfigException e) {
        throw wrong(key, "an integer from " + min + " to " + max);
      }
      if (value < min || value > max) {
        throw wrong(key, "an integer from " + min + " to " + max);
      }
      return value;
    }

    double doubleIn(String key, double min, boolean minOpen, double max, boolean maxOpen) {
      String allowed = "a number " + (minOpen ? "above " : "from ") + min
          + (maxOpen ? " and below " : " to ") + max;
      double value;
      try {
        value = c.getDouble(key);
      } catch (ConfigException e) {
        throw wrong(key, allowed);
      }
      if (Double.isNaN(value) || (minOpen ? value <= min : value < min)
          || (maxOpen ? value >= max : value > max)) {
        throw wrong(key, allowed);
      }
      return value;
    }

    long bytesIn(String key, long min, long max) {
      String allowed = "a size from " + min + " to " + max + " bytes, like 512k, 64m or 1g";
      long value;
      try {
        value = c.getBytes(key);
      } catch (ConfigException e) {
        throw wrong(key, allowed);
      }
      if (value < min || value > max) {
        throw wrong(key, allowed);
      }
      return value;
    }

    String oneOf(String key, List<String> allowed) {
      String value = string(key);
      if (!allowed.contains(value)) {
        throw wrong(key, "one of " + String.join(", ", allowed));
      }
      return value;
    }

    @SafeVarargs
    final <E extends Enum<E>> E choice(String key, Class<E> type, E... excluded) {
      List<String> allowed = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        if (!List.of(excluded).contains(e)) {
          allowed.add(e.name().toLowerCase(Locale.ROOT));
        }
      }
      return Enum.valueOf(type, oneOf(key, allowed).toUpperCase(Locale.ROOT));
    }

    boolean isNull(String key) {
      return !c.hasPath(key);
    }

    /** A whole number at least min, or null when the key is null or absent. */
    Long optionalLong(String key, long min) {
      if (isNull(key)) {
        return null;
      }
      return longIn(key, min, Long.MAX_VALUE);
    }

    /** A non-blank string, or null when the key is null, absent or blank. */
    String optionalString(String key) {
      if (isNull(key)) {
        return null;
      }
      String value = c.getValue(key).valueType() == ConfigValueType.NUMBER
          ? c.getValue(key).unwrapped().toString() : string(key).trim();
      return value.isEmpty() ? null : value;
    }

    List<String> stringOrList(String key) {
      ConfigValue value = c.getValue(key);
      List<String> out = new ArrayList<>();
      if (value.valueType() == ConfigValueType.STRING) {
        out.add((String) value.unwrapped());
      } else if (value.valueType() == ConfigValueType.LIST) {
        for (ConfigValue item : (ConfigList) value) {
          if (item.valueType() != ConfigValueType.STRING || ((String) item.unwrapped()).isBlank()) {
            throw wrong(key, "a path or a list of paths (strings)");
          }
          out.add(((String) item.unwrapped()).trim());
        }
      } else {
        throw wrong(key, "a path or a list of paths (strings)");
      }
      out.removeIf(String::isBlank);
      return out;
    }

    Map<String, String> names(String key) {
      Map<String, String> out = new LinkedHashMap<>();
      for (String name : c.getObject(key).keySet()) {
        out.put(name, nonEmpty(key + "." + name, "a field or role name"));
      }
      return out;
    }

    Map<String, Object> object(String key) {
      Map<String, Object> values;
      try {
        values = c.getObject(key).unwrapped();
      } catch (ConfigException e) {
        throw wrong(key, "a section of template variables");
      }
      for (Map.Entry<String, Object> entry : values.entrySet()) {
        if (entry.getValue() == null) {
          throw wrong(key + "." + entry.getKey(), "a string, number, boolean, list or section, not null");
        }
      }
      return values;
    }
  }
}
