package io.laketune.prep.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/** Spark rows become the JSON records a JSONL line of the same data would be. */
class RowRecordsTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static RowRecords records(StructType schema, List<SourceColumns.Column> columns, int file, int row, String key) {
    return new RowRecords(columns, schema, file, row, key);
  }

  @Test
  void valuesBecomeTheJsonALineWouldHold() throws Exception {
    StructType message = new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType)
        .add("name", DataTypes.StringType);
    StructType schema = new StructType()
        .add("id", DataTypes.LongType)
        .add("score", DataTypes.createDecimalType(5, 2))
        .add("messages", DataTypes.createArrayType(message))
        .add("tags", DataTypes.createMapType(DataTypes.StringType, DataTypes.IntegerType))
        .add("note", DataTypes.StringType)
        .add("__laketune_file", DataTypes.StringType)
        .add("__laketune_row", DataTypes.LongType);
    List<SourceColumns.Column> columns = List.of(new SourceColumns.Column("id", "id", false),
        new SourceColumns.Column("score", "score", false), new SourceColumns.Column("messages", "messages", false),
        new SourceColumns.Column("tags", "tags", false), new SourceColumns.Column("note", "note", false));
    Row row = RowFactory.create(7L, new BigDecimal("1.50"),
        CollectionConverters.asScala(Arrays.asList(RowFactory.create("user", "Hi", null), null,
            RowFactory.create("assistant", "Yo", "bot"))).toSeq(),
        CollectionConverters.asScala(java.util.Map.of("a", 1)), null, "hdfs://nn/t/part-0.parquet", 41L);
    RowRecords records = records(schema, columns, 5, 6, "id");
    ObjectNode raw = records.raw(row);
    // As JSON text: a long column is a LongNode where a JSON reader makes an IntNode of 7; both print 7.
    assertEquals(JSON.readTree("{\"id\": 7, \"score\": 1.50, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
        + " null, {\"role\": \"assistant\", \"content\": \"Yo\", \"name\": \"bot\"}], \"tags\": {\"a\": 1}}").toString(),
        raw.toString());
    assertNull(raw.get("note"), "a null column is an absent field");
    assertEquals("hdfs://nn/t/part-0.parquet", records.file(row));
    assertEquals(41L, records.position(row));
    assertEquals("7", records.key(raw));
  }

  @Test
  void jsonStringColumnsAreParsedOrTheRowRejected() throws Exception {
    StructType schema = new StructType().add("conv", DataTypes.StringType);
    List<SourceColumns.Column> columns = List.of(new SourceColumns.Column("messages", "conv", true));
    RowRecords records = records(schema, columns, -1, -1, null);
    ObjectNode parsed = records.parse(records.raw(RowFactory.create("[{\"role\": \"user\", \"content\": \"x\"}]")));
    assertEquals(JSON.readTree("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}"), parsed);
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> records.parse(records.raw(RowFactory.create("[{\"role\": "))));
    assertEquals(RejectReason.MALFORMED_JSON, e.reason());
    assertEquals("column \"conv\" is not valid JSON: Unexpected end-of-input within/between Object entries at column 11",
        e.detail());
    assertEquals(RejectReason.MALFORMED_JSON,
        assertThrows(BadRecordException.class, () -> records.parse(records.raw(RowFactory.create(" ")))).reason());
    assertEquals(RejectReason.MALFORMED_JSON,
        assertThrows(BadRecordException.class, () -> records.parse(records.raw(RowFactory.create("[1] 2")))).reason());
    assertNull(records.file(RowFactory.create("x")));
    assertEquals(-1, records.position(RowFactory.create("x")));
  }
}
