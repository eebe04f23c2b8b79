package io.laketune.prep.source;

import io.delta.tables.DeltaTable;
import io.laketune.prep.config.PrepConfig.TableRef;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.hadoop.HadoopTables;
import org.apache.iceberg.spark.Spark3Util;
import org.apache.iceberg.util.SnapshotUtil;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads one table of a source — Parquet files, a Delta or Iceberg table by path, a catalog table —
 * at an exact version: the one asked for, the one a timestamp resolves to, or the latest. The
 * version is resolved first and the table then read at exactly that version, so what the manifest
 * records is what was read.
 *
 * <p>Timestamps follow the formats' own time travel: Delta reads the latest version committed at or
 * before the time (commit times as DESCRIBE HISTORY shows them) and refuses a time after the latest
 * commit; Iceberg reads the snapshot that was current at the time ({@link
 * SnapshotUtil#snapshotIdAsOfTime}, what its as-of-timestamp uses). Both parse the time as Spark SQL
 * casts a string to a timestamp, in the session time zone.
 */
final class TableReader {

  /**
   * A table read at one version.
   *
   * @param rows the table's rows at that version, all columns
   * @param info what the manifest records about it
   * @param version the Delta version read, or null
   * @param snapshotId the Iceberg snapshot read, or null
   */
  record Read(Dataset<Row> rows, SourceInfo info, Long version, Long snapshotId) {}

  private final SparkSession spark;
  /** Config key prefix for messages: "laketune.prep.source." or "laketune.prep.source.views.NAME.". */
  private final String keys;

  TableReader(SparkSession spark, String keys) {
    this.spark = spark;
    this.keys = keys;
  }

  /** @param pathKey how messages name the path: "laketune.prep.input" or a view's path key */
  Read read(TableRef ref, String pathKey) {
    return switch (ref.format()) {
      case PARQUET -> parquet(ref, pathKey);
      case DELTA -> deltaPath(ref, qualify(ref.paths().get(0)), pathKey);
      case ICEBERG -> icebergPath(ref, qualify(ref.paths().get(0)), pathKey);
      case TABLE -> catalogTable(ref);
      default -> throw new IllegalStateException("not a table format: " + ref.format());
    };
  }

  private Read parquet(TableRef ref, String pathKey) {
    Dataset<Row> rows;
    try {
      rows = spark.read().parquet(ref.paths().toArray(String[]::new));
    } catch (Exception e) {
      throw new IllegalArgumentException(pathKey + ": cannot read " + String.join(", ", ref.paths())
          + " as Parquet: " + firstLine(e) + ".", e);
    }
    SourceInfo info = new SourceInfo("parquet", ref.paths(), null, null, null, null, null, null, null,
        null, null, null, null, files(rows.inputFiles()));
    return new Read(rows, info, null, null);
  }

  private Read deltaPath(TableRef ref, String path, String pathKey) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      throw new IllegalArgumentException(pathKey + ": " + path + " is not a Delta table (it has no _delta_log);"
          + " check the path, or source.format.");
    }
    DeltaTable table = DeltaTable.forPath(spark, path);
    return delta(ref, table, path, version -> spark.read().format("delta").option("versionAsOf", version).load(path),
        List.of(ref.paths().get(0)), null, null);
  }

  private Read delta(TableRef ref, DeltaTable table, String name, java.util.function.LongFunction<Dataset<Row>> at,
      List<String> paths, String catalogName, String provider) {
    // version -> commit time, every version whose commit the log still keeps
    Map<Long, Timestamp> commits = new LinkedHashMap<>();
    for (Row r : table.history().select("version", "timestamp").orderBy("version").collectAsList()) {
      commits.put(r.getLong(0), r.getTimestamp(1));
    }
    long latest = commits.keySet().stream().mapToLong(Long::longValue).max()
        .orElseThrow(() -> new IllegalArgumentException(name + " has no commits; it is not a usable Delta table."));
    long version;
    String requested = null;
    if (ref.version() != null) {
      version = ref.version();
      if (version > latest) {
        throw new IllegalArgumentException(keys + "version = " + version + ", but the latest version of " + name
            + " is " + latest + ".");
      }
    } else if (ref.timestamp() != null) {
      Timestamp asked = timestamp(ref.timestamp(), keys + "timestamp");
      Long found = null;
      for (Map.Entry<Long, Timestamp> c : commits.entrySet()) {
        if (!c.getValue().after(asked)) {
          found = c.getKey();
        }
      }
      Timestamp last = commits.get(latest);
      if (asked.after(last)) {
        throw new IllegalArgumentException(keys + "timestamp = \"" + ref.timestamp() + "\" is after the latest commit"
            + " of " + name + " (version " + latest + " at " + utc(last) + "); Delta reads no later time: give"
            + " a time at or before it, or leave the timestamp out for the latest version.");
      }
      if (found == null) {
        Map.Entry<Long, Timestamp> first = commits.entrySet().iterator().next();
        throw new IllegalArgumentException(keys + "timestamp = \"" + ref.timestamp() + "\" is before the earliest"
            + " commit " + name + " keeps (version " + first.getKey() + " at " + utc(first.getValue()) + ").");
      }
      version = found;
      requested = "timestamp " + ref.timestamp();
    } else {
      version = latest;
      requested = "latest";
    }
    Dataset<Row> rows;
    try {
      rows = at.apply(version);
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot read version " + version + " of the Delta table " + name + " ("
          + keys + "version): " + firstLine(e) + ".", e);
    }
    String location = table.detail().select("location").head().getString(0);
    Timestamp committed = commits.get(version);
    SourceInfo info = new SourceInfo(catalogName == null ? "delta" : "table", paths, catalogName, provider,
        location, version, null, committed == null ? null : utc(committed), requested, null, null, null, null, null);
    return new Read(rows, info, version, null);
  }

  private Read icebergPath(TableRef ref, String path, String pathKey) {
    LakehouseConf.ensureIcebergPathCatalog(spark);
    Table table;
    try {
      table = new HadoopTables(spark.sparkContext().hadoopConfiguration()).load(path);
    } catch (Exception e) {
      throw new IllegalArgumentException(pathKey + ": " + path + " is not an Iceberg table (" + firstLine(e)
          + "); check the path, or source.format.", e);
    }
    return iceberg(ref, table, path,
        id -> spark.read().format("iceberg").option("versionAsOf", Long.toString(id)).load(path),
        List.of(ref.paths().get(0)), null, null);
  }

  private Read iceberg(TableRef ref, Table table, String name, java.util.function.LongFunction<Dataset<Row>> at,
      List<String> paths, String catalogName, String provider) {
    Snapshot snapshot;
    String requested = null;
    if (ref.snapshotId() != null) {
      snapshot = table.snapshot(ref.snapshotId());
      if (snapshot == null) {
        List<Long> ids = new ArrayList<>();
        table.snapshots().forEach(s -> ids.add(s.snapshotId()));
        throw new IllegalArgumentException(keys + "snapshot_id = " + ref.snapshotId() + " is not a snapshot of "
            + name + "; its snapshots are " + ids + ".");
      }
    } else if (ref.asOf() != null) {
      long millis = ref.asOf().matches("\\d+") ? Long.parseLong(ref.asOf())
          : timestamp(ref.asOf(), keys + "as_of").getTime();
      try {
        snapshot = table.snapshot(SnapshotUtil.snapshotIdAsOfTime(table, millis));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(keys + "as_of = \"" + ref.asOf() + "\" is before the first snapshot of "
            + name + ": " + firstLine(e) + ".", e);
      }
      requested = "as_of " + ref.asOf();
    } else {
      snapshot = table.currentSnapshot();
      if (snapshot == null) {
        throw new IllegalArgumentException(name + " has no snapshot: the Iceberg table is empty; nothing to prepare.");
      }
      requested = "latest";
    }
    Dataset<Row> rows;
    try {
      rows = at.apply(snapshot.snapshotId());
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot read snapshot " + snapshot.snapshotId() + " of the Iceberg table "
          + name + ": " + firstLine(e) + ".", e);
    }
    SourceInfo info = new SourceInfo(catalogName == null ? "iceberg" : "table", paths, catalogName, provider,
        table.location(), null, snapshot.snapshotId(), utc(new Timestamp(snapshot.timestampMillis())), requested,
        null, null, null, null, null);
    return new Read(rows, info, null, snapshot.snapshotId());
  }

  private Read catalogTable(TableRef ref) {
    String name = ref.table();
    Map<String, String> described = new LinkedHashMap<>();
    try {
      for (Row r : spark.sql("DESCRIBE TABLE EXTENDED " + name).collectAsList()) {
        if (r.getString(0) != null && r.get(1) != null) {
          described.putIfAbsent(r.getString(0).trim(), r.getString(1).trim());
        }
      }
    } catch (Exception e) {
      throw new IllegalArgumentException(keys + "table: cannot find " + name + " in Spark's catalog ("
          + firstLine(e) + "); check the name, or the spark.sql.catalog settings.", e);
    }
    String provider = described.getOrDefault("Provider", "").toLowerCase(Locale.ROOT);
    String location = described.get("Location");
    switch (provider) {
      case "delta" -> {
        return delta(ref, DeltaTable.forName(spark, name), name,
            version -> spark.read().option("versionAsOf", version).table(name), null, name, provider);
      }
      case "iceberg" -> {
        Table table;
        try {
          table = Spark3Util.loadIcebergTable(spark, name);
        } catch (Exception e) {
          throw new IllegalArgumentException(keys + "table: cannot load the Iceberg table " + name + ": "
              + firstLine(e) + ".", e);
        }
        return iceberg(ref, table, name,
            id -> spark.read().option("versionAsOf", Long.toString(id)).table(name), null, name, provider);
      }
      default -> {
        String asked = ref.version() != null ? "version" : ref.timestamp() != null ? "timestamp"
            : ref.snapshotId() != null ? "snapshot_id" : ref.asOf() != null ? "as_of" : null;
        if (asked != null) {
          throw new IllegalArgumentException(keys + asked + " is set, but " + name + " is a "
              + (provider.isEmpty() ? "catalog" : provider) + " table, which has no versions: remove it.");
        }
        Dataset<Row> rows = spark.table(name);
        SourceInfo info = new SourceInfo("table", null, name, provider.isEmpty() ? null : provider, location,
            null, null, null, null, null, null, null, null, files(rows.inputFiles()));
        return new Read(rows, info, null, null);
      }
    }
  }

  /** A Spark SQL timestamp string, as Spark casts it (session time zone); null when it is none. */
  private Timestamp timestamp(String text, String key) {
    Row r = spark.range(1).select(functions.lit(text).try_cast(DataTypes.TimestampType)).head();
    if (r.isNullAt(0)) {
      throw new IllegalArgumentException(key + " = \"" + text + "\" is not a timestamp: write it like"
          + " 2026-11-30 12:00:00 or 2026-11-30T12:00:00Z.");
    }
    return r.getTimestamp(0);
  }

  private String qualify(String path) {
    Path p = new Path(path);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    try {
      return p.getFileSystem(conf).makeQualified(p).toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reach the file system of " + path + ": " + e.getMessage(), e);
    }
  }

  private static String utc(Timestamp t) {
    return t.toInstant().toString();
  }

  /** The fingerprint of a list of data files: their count and SHA-256 of the sorted paths. */
  static SourceInfo.Files files(String[] paths) {
    String[] sorted = paths.clone();
    Arrays.sort(sorted);
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String p : sorted) {
        sha.update((p + "\n").getBytes(StandardCharsets.UTF_8));
      }
      return new SourceInfo.Files(sorted.length, null, HexFormat.of().formatHex(sha.digest()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** The first line of an exception's message: Spark's are long, with the plan after. */
  static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    m = m.lines().findFirst().orElse("").strip();
    return m.endsWith(".") ? m.substring(0, m.length() - 1) : m;
  }
}
