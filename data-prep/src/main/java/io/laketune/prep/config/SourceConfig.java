package io.laketune.prep.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueType;
import io.laketune.prep.config.PrepConfig.Source;
import io.laketune.prep.config.PrepConfig.SourceFormat;
import io.laketune.prep.config.PrepConfig.TableRef;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where the records come from, checked as a whole: laketune.prep.input or tenant.inputs, the source
 * section (format, table, query, views and their pinned versions) and a DataFrame's restrictions.
 * Every mistake is one sentence naming the key (see {@link PrepValues}).
 */
final class SourceConfig {

  /** The keys of one source.views entry. */
  private static final List<String> VIEW_KEYS =
      List.of("format", "path", "table", "version", "timestamp", "snapshot_id", "as_of");

  private SourceConfig() {}

  /**
   * tenant.inputs: a tenant per input, NAME = a JSONL path, directory or glob, or a list of them. It
   * stands instead of laketune.prep.input; tables name their tenant with a column (tenant.column), which
   * a query can add as a literal per table.
   */
  static Map<String, List<String>> tenantInputs(PrepValues v, boolean dataFrame) {
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
  static Source source(PrepValues v, List<String> input) {
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
  static Source dataFrameSource(PrepValues v, List<String> input) {
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

  private static Source rest(PrepValues v, TableRef main, String query, Map<String, TableRef> views) {
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
  private static TableRef tableRef(PrepValues v, String prefix, SourceFormat format, List<String> paths, String table) {
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
  private static String firstSet(PrepValues v, String prefix) {
    for (String k : List.of("version", "timestamp", "snapshot_id", "as_of")) {
      if (!v.isNull(prefix + k)) {
        return prefix + k;
      }
    }
    return null;
  }

  /** source.views: name = { format, path | table, version | timestamp | snapshot_id | as_of }. */
  private static Map<String, TableRef> views(PrepValues v) {
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
}
