package io.laketune.prep.source;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * The {@code source} block of manifest.json: where the rows came from, exactly. For a Delta or
 * Iceberg table that is the location and the version or snapshot read — the one resolved from a
 * timestamp, or the latest at preparation time — so the dataset can be traced to, and prepared
 * again from, those rows after the table has moved on. Absent fields are left out. No clock
 * readings: the same source gives the same block.
 *
 * @param format jsonl, parquet, delta, iceberg, table, sql or dataframe
 * @param paths input as configured (jsonl, parquet, delta, iceberg)
 * @param table the catalog name (table)
 * @param provider the catalog table's format, as the catalog reports it (delta, iceberg, parquet, ...)
 * @param location the table's root, fully qualified (delta, iceberg, catalog tables)
 * @param version the Delta version read
 * @param snapshotId the Iceberg snapshot read
 * @param committedAt when that version or snapshot was committed, UTC, ISO-8601
 * @param requested what was asked for when it was not an exact version: "latest", or
 *     "timestamp 2026-11-30 12:00:00" / "as_of ..."
 * @param query the SQL query (sql)
 * @param views the views the query read, each resolved like a table (sql)
 * @param filter source.filter, when set
 * @param key source.key, when set
 * @param files the data files read, where no version names them (jsonl, parquet, plain tables)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SourceInfo(
    String format,
    List<String> paths,
    String table,
    String provider,
    String location,
    Long version,
    Long snapshotId,
    String committedAt,
    String requested,
    String query,
    Map<String, SourceInfo> views,
    String filter,
    String key,
    Files files) {

  /** The data files as a fingerprint: how many, and SHA-256 of their sorted "path\tbytes\n" lines. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Files(long count, Long bytes, String sha256) {}

  /** The same block with filter and key set (they are the job's, not the table's). */
  SourceInfo withSelection(String filter, String key) {
    return new SourceInfo(format, paths, table, provider, location, version, snapshotId, committedAt,
        requested, query, views, filter == null || filter.isEmpty() ? null : filter,
        key == null || key.isEmpty() ? null : key, files);
  }

  /** One line for people: "delta hdfs://nn/lake/chats version 12 (committed 2026-11-30T...)". */
  public String describe() {
    StringBuilder s = new StringBuilder(format);
    if (table != null) {
      s.append(' ').append(table);
    }
    if (location != null) {
      s.append(' ').append(location);
    } else if (paths != null && !paths.isEmpty()) {
      s.append(' ').append(String.join(", ", paths));
    }
    if (version != null) {
      s.append(" version ").append(version);
    }
    if (snapshotId != null) {
      s.append(" snapshot ").append(snapshotId);
    }
    if (committedAt != null) {
      s.append(" (committed ").append(committedAt).append(')');
    }
    if (files != null) {
      s.append(", ").append(files.count()).append(files.count() == 1 ? " file" : " files");
    }
    return s.toString();
  }
}
