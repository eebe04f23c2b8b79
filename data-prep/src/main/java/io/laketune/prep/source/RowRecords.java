package io.laketune.prep.source;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

/**
 * Turns a row of the selected columns into the JSON object the formats read (one implementation
 * of the formats for JSONL lines and table rows). The row holds the {@link SourceColumns} in order,
 * then, when the source exposes them, the data file's path and the row's position in it.
 *
 * <p>A row becomes a record in two steps: {@link #raw} is the row's values as they are (a JSON
 * string column still a string) — what a reject shows and what the row's identity hash is computed
 * from — and {@link #parse} replaces JSON string columns by their parsed value, rejecting the row
 * when one is not valid JSON.
 */
public final class RowRecords implements Serializable {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final List<SourceColumns.Column> columns;
  private final DataType[] types;
  private final int fileIndex;
  private final int positionIndex;
  private final String keyField;

  /**
   * @param schema the selected DataFrame's schema
   * @param fileIndex the column of the data file's path, or -1
   * @param positionIndex the column of the row's position in its file, or -1
   * @param keyField the record field that source.key names, or null
   */
  public RowRecords(List<SourceColumns.Column> columns, StructType schema, int fileIndex, int positionIndex,
      String keyField) {
    this.columns = List.copyOf(columns);
    this.types = new DataType[columns.size()];
    for (int i = 0; i < types.length; i++) {
      types[i] = schema.fields()[i].dataType();
    }
    this.fileIndex = fileIndex;
    this.positionIndex = positionIndex;
    this.keyField = keyField;
  }

  /** The row's values under the formats' field names; null values left out. */
  public ObjectNode raw(Row row) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    for (int i = 0; i < types.length; i++) {
      JsonNode value = JsonValues.of(row.get(i), types[i]);
      if (value != null) {
        out.set(columns.get(i).field(), value);
      }
    }
    return out;
  }

  /** The record the formats read: raw with JSON string columns parsed. */
  public ObjectNode parse(ObjectNode raw) throws BadRecordException {
    ObjectNode out = null;
    for (SourceColumns.Column c : columns) {
      JsonNode value = c.json() ? raw.get(c.field()) : null;
      if (value == null || !value.isTextual()) {
        continue;
      }
      if (out == null) {
        out = raw.deepCopy();
      }
      String text = value.textValue();
      if (text.isBlank()) {
        throw new BadRecordException(RejectReason.MALFORMED_JSON,
            "column \"" + c.column() + "\" holds an empty string, not JSON");
      }
      try {
        out.set(c.field(), JSON.readTree(text));
      } catch (JsonProcessingException e) {
        String where = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
        throw new BadRecordException(RejectReason.MALFORMED_JSON, "column \"" + c.column() + "\" is not valid JSON: "
            + e.getOriginalMessage().lines().findFirst().orElse("") + where);
      }
    }
    return out == null ? raw : out;
  }

  /** The data file the row came from, or null. */
  public String file(Row row) {
    return fileIndex < 0 || row.isNullAt(fileIndex) ? null : row.getString(fileIndex);
  }

  /** The row's position in its data file (from 0), or -1 when the source does not expose it. */
  public long position(Row row) {
    return positionIndex < 0 || row.isNullAt(positionIndex) ? -1 : ((Number) row.get(positionIndex)).longValue();
  }

  /** The source.key value as JSON text, or null (no key, or null in this row). */
  public String key(ObjectNode raw) {
    if (keyField == null) {
      return null;
    }
    JsonNode value = raw.get(keyField);
    return value == null ? null : value.toString();
  }
}
