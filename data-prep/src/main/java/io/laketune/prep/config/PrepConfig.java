package io.laketune.prep.config;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * The laketune.prep section of a run file, parsed and checked once by {@link PrepConfigParser}.
 * Immutable; serialisable because executors get a copy. reference.conf documents every key.
 *
 * @param input paths, directories or globs of JSONL or Parquet files on any Hadoop FileSystem, or
 *     the one path of a Delta or Iceberg table; empty for catalog tables, queries and DataFrames
 * @param source what the input is (JSONL, Parquet, a Delta, Iceberg or catalog table, a query)
 *     and which version of it to read
 * @param output the dataset directory to create
 * @param overwrite whether an existing dataset at output may be replaced
 * @param tokenizer the model directory holding tokenizer.json, local or on a Hadoop FileSystem
 * @param tenantColumn the field (JSONL) or column (tables) naming each record's tenant, or "" for a
 *     dataset of one tenant; each tenant gets its own shards, split and counts under tenants/NAME/
 * @param tenantInputs a tenant per input instead (tenant.inputs): each tenant's JSONL paths, by name;
 *     input is then every tenant's paths, and every record read from a tenant's files is that tenant's
 * @param resolvedJson the whole resolved laketune.prep section as JSON, for the manifest
 */
public record PrepConfig(
    List<String> input,
    Source source,
    String output,
    boolean overwrite,
    String tokenizer,
    Format format,
    Labels labels,
    Length length,
    Pack pack,
    Split split,
    boolean dedup,
    long seed,
    double maxRejectFraction,
    long shardTokens,
    long splitBytes,
    int progressSeconds,
    String tenantColumn,
    Map<String, List<String>> tenantInputs,
    String resolvedJson)
    implements Serializable {

  public PrepConfig {
    input = List.copyOf(input);
    Map<String, List<String>> inputs = new java.util.TreeMap<>();
    tenantInputs.forEach((tenant, paths) -> inputs.put(tenant, List.copyOf(paths)));
    tenantInputs = java.util.Collections.unmodifiableMap(inputs);
  }

  /** Whether records carry a tenant (tenant.column or tenant.inputs is set). */
  public boolean tenants() {
    return !tenantColumn.isEmpty() || !tenantInputs.isEmpty();
  }

  /**
   * What a tenant may be called — letters, digits, '.', '_' and '-', at most 128, not starting with
   * '.': it names the directory tenants/NAME/ of the dataset and of runs.
   */
  public static final java.util.regex.Pattern TENANT_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

  /** source.format: what laketune.prep.input is, or where the rows come from without it. */
  public enum SourceFormat {
    JSONL,
    PARQUET,
    DELTA,
    ICEBERG,
    /** A table of Spark's catalog (spark_catalog, Hive metastore, an Iceberg catalog) by name. */
    TABLE,
    SQL,
    /** A DataFrame handed to {@code io.laketune.prep.Prepare}; not a value of source.format. */
    DATAFRAME;

    /** Whether rows come through Spark SQL (everything but JSONL). */
    public boolean tabular() {
      return this != JSONL;
    }
  }

  /** format.type: how a JSON line becomes text. */
  public enum FormatType {
    TEXT,
    PROMPT_COMPLETION,
    CHAT,
    ALPACA
  }

  /** labels.train_on after auto is resolved. */
  public enum TrainOn {
    ALL,
    COMPLETION
  }

  /** labels.add_bos. */
  public enum AddBos {
    AUTO,
    TRUE,
    FALSE
  }

  /** length.policy. */
  public enum LengthPolicy {
    TRUNCATE,
    DROP
  }

  /** pack.mode. */
  public enum PackMode {
    GREEDY,
    BEST_FIT,
    NONE
  }

  /** format.alpaca_prompt. */
  public enum AlpacaPrompt {
    ALPACA,
    CHAT
  }

  /**
   * @param fields format.fields: our name (text, prompt, messages, role, ...) to the data's name
   * @param roles format.roles: template role (system, user, assistant, tool) to the data's name
   * @param templateArgs format.template_args, as plain Java values (String, Boolean, Number,
   *     List, Map)
   */
  public record Format(
      FormatType type,
      Map<String, String> fields,
      Map<String, String> roles,
      Map<String, Object> templateArgs,
      AlpacaPrompt alpacaPrompt)
      implements Serializable {

    public Format {
      fields = Map.copyOf(fields);
      roles = Map.copyOf(roles);
      templateArgs = Map.copyOf(templateArgs);
    }

    /** The data's name of one of our fields (text, prompt, messages, role, content, ...). */
    public String field(String name) {
      String value = fields.get(name);
      if (value == null) {
        throw new IllegalArgumentException("no format.fields." + name + " in reference.conf");
      }
      return value;
    }
  }

  /**
   * One table to read and which version of it; at most one of version and timestamp (Delta) and of
   * snapshotId and asOf (Iceberg) is set, none for the latest.
   *
   * @param paths the Parquet files or directories, or the one Delta or Iceberg table path
   * @param table a catalog table name (format TABLE), else ""
   * @param timestamp Delta: the latest version committed at or before this time (a Spark SQL
   *     timestamp string)
   * @param asOf Iceberg: the snapshot that was current at this time (a Spark SQL timestamp string
   *     or milliseconds since the epoch)
   */
  public record TableRef(SourceFormat format, List<String> paths, String table, Long version,
      String timestamp, Long snapshotId, String asOf) implements Serializable {

    public TableRef {
      paths = List.copyOf(paths);
    }

    /** Whether a version, time or snapshot is asked for (else the latest is read). */
    public boolean timeTravel() {
      return version != null || timestamp != null || snapshotId != null || asOf != null;
    }
  }

  /**
   * The source section: the table (or files) to read, or a query over views, and how rows are
   * selected and identified.
   *
   * @param main what laketune.prep.input and source.format/table/version/... name; for SQL the
   *     format only
   * @param query source.query (format SQL), else ""
   * @param views source.views: temporary views the query reads, by name, in name order
   * @param filter a Spark SQL boolean expression applied before anything else (pushed into the
   *     scan where the format can), else ""
   * @param key the column that identifies a row in rejects/, else ""
   * @param partitions tasks that tokenize the rows; 0 for at least spark.default.parallelism
   */
  public record Source(TableRef main, String query, Map<String, TableRef> views, String filter,
      String key, int partitions) implements Serializable {

    public Source {
      views = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(views));
    }

    public SourceFormat format() {
      return main.format();
    }
  }

  public record Labels(TrainOn trainOn, AddBos addBos, boolean addEos) implements Serializable {}

  /** @param maxRecordBytes lines longer than this many bytes are rejected unread */
  public record Length(int seqLen, LengthPolicy policy, long maxRecordBytes)
      implements Serializable {}

  /** @param openRows best_fit: rows kept open per shard */
  public record Pack(PackMode mode, int openRows) implements Serializable {}

  /** @param key "content" or the name of an id field */
  public record Split(double validationFraction, String key) implements Serializable {

    public boolean byContent() {
      return "content".equals(key);
    }
  }
}
