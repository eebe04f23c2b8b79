package io.laketune.prep.source;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfig.SourceFormat;
import io.laketune.prep.config.PrepConfig.TableRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * The rows a table source stands for, ready for the job: the table (or the query over pinned
 * views, or a DataFrame) at an exact version, filtered by source.filter, pruned to the columns the
 * format needs, plus the data file and row position where the format exposes them (for rejects/).
 * Everything here runs on the driver before the job starts, so a wrong path, version, column or
 * filter stops it with one sentence and nothing written.
 */
public final class TableSource {

  private static final ObjectMapper JSON = new ObjectMapper();
  static final String FILE_COLUMN = "__laketune_file";
  static final String POSITION_COLUMN = "__laketune_row";

  /**
   * @param rows the selected rows: the {@link SourceColumns} then the file and position columns
   * @param records turns those rows into records
   * @param info the manifest's source block
   * @param pinnedConfig the resolved laketune.prep section as JSON with every version the reads
   *     resolved to written in (source.version, source.snapshot_id, and those of each view)
   */
  public record Resolved(Dataset<Row> rows, RowRecords records, SourceInfo info, String pinnedConfig) {}

  private TableSource() {}

  /** Resolves a configured table source (any source.format but jsonl). */
  public static Resolved resolve(SparkSession spark, PrepConfig config) {
    PrepConfig.Source source = config.source();
    ObjectNode pinned = parse(config.resolvedJson());
    ObjectNode sourceNode = (ObjectNode) pinned.get("source");
    Dataset<Row> base;
    SourceInfo info;
    boolean locatable = true;
    if (source.format() == SourceFormat.SQL) {
      Map<String, SourceInfo> views = new TreeMap<>();
      for (Map.Entry<String, TableRef> view : source.views().entrySet()) {
        String name = view.getKey();
        String keys = "laketune.prep.source.views." + name + ".";
        TableReader.Read read = new TableReader(spark, keys).read(view.getValue(), keys + "path");
        read.rows().createOrReplaceTempView(name);
        views.put(name, read.info());
        pin((ObjectNode) sourceNode.get("views").get(name), read);
      }
      try {
        base = spark.sql(source.query());
      } catch (Exception e) {
        throw new IllegalArgumentException("laketune.prep.source.query cannot run: " + TableReader.firstLine(e) + ".", e);
      }
      info = new SourceInfo("sql", null, null, null, null, null, null, null, null, source.query(),
          views.isEmpty() ? null : views, null, null, null);
      // A query's rows need not be rows of one file (joins, aggregates): no file identity.
      locatable = false;
    } else {
      String pathKey = source.format() == SourceFormat.TABLE ? "laketune.prep.source.table" : "laketune.prep.input";
      TableReader.Read read = new TableReader(spark, "laketune.prep.source.").read(source.main(), pathKey);
      base = read.rows();
      info = read.info();
      pin(sourceNode, read);
    }
    return select(base, config, info, locatable, pinned.toString());
  }

  /** A DataFrame handed to Prepare.prepare: its rows as they are; no version to resolve. */
  public static Resolved ofDataFrame(Dataset<Row> df, PrepConfig config) {
    SourceInfo.Files files;
    try {
      files = TableReader.files(df.inputFiles());
    } catch (Exception e) {
      files = null;
    }
    SourceInfo info = new SourceInfo("dataframe", null, null, null, null, null, null, null, null, null, null,
        null, null, files);
    return select(df, config, info, false, config.resolvedJson());
  }

  private static Resolved select(Dataset<Row> base, PrepConfig config, SourceInfo info, boolean locatable,
      String pinnedConfig) {
    PrepConfig.Source source = config.source();
    Column[] location = locatable ? locate(base) : new Column[2];
    Dataset<Row> rows = base;
    if (!source.filter().isEmpty()) {
      try {
        rows = base.where(source.filter());
      } catch (Exception e) {
        throw new IllegalArgumentException("laketune.prep.source.filter = \"" + source.filter() + "\" cannot be"
            + " applied to the source: " + TableReader.firstLine(e) + ".", e);
      }
    }
    List<SourceColumns.Column> columns = SourceColumns.of(rows.schema(), config);
    List<Column> selected = new ArrayList<>();
    for (SourceColumns.Column c : columns) {
      selected.add(rows.col(quote(c.column())));
    }
    int fileIndex = -1;
    int positionIndex = -1;
    if (location[0] != null) {
      fileIndex = selected.size();
      selected.add(location[0].as(FILE_COLUMN));
    }
    if (location[1] != null) {
      positionIndex = selected.size();
      selected.add(location[1].as(POSITION_COLUMN));
    }
    Dataset<Row> out = rows.select(selected.toArray(Column[]::new));
    String keyField = source.key().isEmpty() ? null : source.key();
    RowRecords records = new RowRecords(columns, out.schema(), fileIndex, positionIndex, keyField);
    return new Resolved(out, records, info.withSelection(source.filter(), source.key()), pinnedConfig);
  }

  /**
   * The data file and row position columns of a table scan: Spark's _metadata.file_path and
   * _metadata.row_index (Parquet; Delta has row_index only with deletion vectors or row tracking),
   * or Iceberg's _file and _pos. {null, null} when the source has neither.
   */
  static Column[] locate(Dataset<Row> base) {
    try {
      Column meta = base.metadataColumn("_metadata");
      StructType fields = (StructType) base.select(meta).schema().fields()[0].dataType();
      List<String> names = List.of(fields.fieldNames());
      if (names.contains("file_path")) {
        return new Column[] {meta.getField("file_path"),
            names.contains("row_index") ? meta.getField("row_index") : null};
      }
    } catch (Exception e) {
      // not a file source: try Iceberg's metadata columns
    }
    try {
      Column file = base.metadataColumn("_file");
      Column position = base.metadataColumn("_pos");
      base.select(file, position).schema();
      return new Column[] {file, position};
    } catch (Exception e) {
      return new Column[2];
    }
  }

  private static void pin(ObjectNode node, TableReader.Read read) {
    if (read.version() != null) {
      node.put("version", read.version());
      node.putNull("timestamp");
    }
    if (read.snapshotId() != null) {
      node.put("snapshot_id", read.snapshotId());
      node.putNull("as_of");
    }
  }

  private static String quote(String column) {
    return "`" + column.replace("`", "``") + "`";
  }

  private static ObjectNode parse(String json) {
    try {
      return (ObjectNode) JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the resolved configuration is JSON", e);
    }
  }
}
