package io.laketune.prep.source;

import static io.laketune.prep.PreparedDocs.assertSameRejects;
import static io.laketune.prep.PreparedDocs.assertSameShards;
import static io.laketune.prep.PreparedDocs.read;
import static io.laketune.prep.source.LakeTables.config;
import static io.laketune.prep.source.LakeTables.hdfs;
import static io.laketune.prep.source.LakeTables.row;
import static io.laketune.prep.source.LakeTables.run;
import static io.laketune.prep.source.LakeTables.spark;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.SparkHdfs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.write.Manifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Tables with planted bad rows — nulls, broken message structs, JSON strings that are not JSON or
 * hold the wrong types — put exactly those rows in rejects/, each with its identity (the key column,
 * or the data file and row position) and reason; the reject threshold applies; rejects/ and shards
 * do not depend on how the rows are spread over tasks. A schema no row could use stops the job
 * before it starts, naming the column.
 */
@Tag("integration")
class BadRowsTest {

  private static final StructType MESSAGE = new StructType()
      .add("role", DataTypes.StringType)
      .add("content", DataTypes.StringType);
  private static final StructType STRUCTS = new StructType()
      .add("id", DataTypes.LongType)
      .add("messages", DataTypes.createArrayType(MESSAGE, true));
  private static final StructType STRINGS = new StructType()
      .add("id", DataTypes.LongType)
      .add("messages", DataTypes.StringType);
  private static final String CHAT = "format.type = chat, length.seq_len = 128, rejects.max_fraction = 1";

  private static Row chat(long id, Row... messages) {
    return row(id, messages == null ? null : Arrays.asList(messages));
  }

  private static Row good(long id) {
    return chat(id, row("user", "Question " + id + "?"), row("assistant", "Answer " + id + "."));
  }

  /** Rejects of a dataset: reason by key (or by "file#row" when no key). */
  private static Map<String, String> rejects(Manifest m, String output, List<JsonNode> lines) throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (String file : m.rejects().files()) {
      for (String line : read(output + "/" + file).split("\n")) {
        JsonNode r = LakeTables.JSON.readTree(line);
        assertFalse(r.get("detail").asText().isEmpty());
        assertTrue(r.has("excerpt"));
        lines.add(r);
        out.put(r.has("key") ? r.get("key").asText() : r.get("file").asText() + "#" + r.get("row").asLong(),
            r.get("reason").asText());
      }
    }
    return out;
  }

  @Test
  void brokenMessageStructsAreRejectedWithTheirKeyAndPosition() throws Exception {
    String path = hdfs("/lake/delta/bad-chats");
    // Deletion vectors on: Delta then exposes row positions, which rejects/ show.
    spark().sql("CREATE TABLE delta.`" + path + "` (id BIGINT, messages ARRAY<STRUCT<role: STRING, content: STRING>>)"
        + " USING delta TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')");
    List<Row> rows = new ArrayList<>();
    for (long i = 1; i <= 12; i++) {
      rows.add(good(i));
    }
    Map<String, String> planted = new TreeMap<>(Map.of(
        "100", "missing_field", "101", "empty_content", "102", "wrong_type", "103", "missing_field",
        "104", "missing_field", "105", "unknown_role", "106", "no_assistant_turn"));
    rows.add(row(100L, null));
    rows.add(chat(101));
    rows.add(chat(102, null, row("user", "hi"), row("assistant", "yo")));
    rows.add(chat(103, row(null, "hi"), row("assistant", "yo")));
    rows.add(chat(104, row("user", null), row("assistant", "yo")));
    rows.add(chat(105, row("wizard", "x"), row("assistant", "yo")));
    rows.add(chat(106, row("user", "only a question")));
    spark().createDataFrame(rows, STRUCTS).repartition(3).write().format("delta").mode("append").save(path);

    String table = "source { format = delta, key = id }, input = \"" + path + "\", " + CHAT;
    PrepConfig one = config("llama3", table + ", source.partitions = 1");
    Manifest m = run(one);
    assertEquals(19, m.counts().recordsRead());
    assertEquals(12, m.counts().kept());
    assertEquals(7, m.counts().rejected());
    List<JsonNode> lines = new ArrayList<>();
    assertEquals(planted, rejects(m, one.output(), lines));
    // Each reject's file and row are where the row is.
    Map<Long, String> where = new TreeMap<>();
    for (Row r : spark().read().format("delta").load(path)
        .selectExpr("id", "_metadata.file_path", "_metadata.row_index").collectAsList()) {
      where.put(r.getLong(0), r.getString(1) + "#" + r.getLong(2));
    }
    for (JsonNode r : lines) {
      assertEquals(where.get(r.get("key").asLong()), r.get("file").asText() + "#" + r.get("row").asLong());
    }

    PrepConfig four = config("llama3", table + ", source.partitions = 4");
    run(four);
    assertSameShards(one.output(), four.output());
    assertSameRejects(one.output(), four.output());

    String message = assertThrows(IllegalArgumentException.class,
        () -> run(config("llama3", table + ", rejects.max_fraction = 0.2"))).getMessage();
    assertTrue(message.startsWith("7 of 19 rows (36.84%) were rejected, more than rejects.max_fraction = 0.2 allows;"
        + " see "), message);
  }

  @Test
  void jsonStringColumnsAreParsedAndBadOnesRejectedByFileAndRow() throws Exception {
    String path = hdfs("/lake/parquet/json-chats");
    List<Row> rows = new ArrayList<>();
    for (long i = 1; i <= 8; i++) {
      rows.add(row(i, "[{\"role\": \"user\", \"content\": \"Question " + i + "?\"},"
          + " {\"role\": \"assistant\", \"content\": \"Answer " + i + ".\"}]"));
    }
    Map<Long, String> planted = Map.of(200L, "malformed_json", 201L, "malformed_json", 202L, "wrong_type",
        203L, "wrong_type", 204L, "missing_field");
    rows.add(row(200L, "[{\"role\": \"user\", \"content\": \"unclosed"));
    rows.add(row(201L, "  "));
    rows.add(row(202L, "{\"role\": \"user\", \"content\": \"not in an array\"}"));
    rows.add(row(203L, "[{\"role\": \"user\", \"content\": 42}, {\"role\": \"assistant\", \"content\": \"x\"}]"));
    rows.add(row(204L, null));
    spark().createDataFrame(rows, STRINGS).repartition(2).write().parquet(path);

    PrepConfig config = config("llama3", "source.format = parquet, input = \"" + path + "\", " + CHAT);
    Manifest m = run(config);
    assertEquals(8, m.counts().kept());
    List<JsonNode> lines = new ArrayList<>();
    Map<String, String> found = rejects(m, config.output(), lines);
    Map<String, String> expected = new TreeMap<>();
    for (Row r : spark().read().parquet(path).selectExpr("id", "_metadata.file_path", "_metadata.row_index")
        .collectAsList()) {
      if (planted.containsKey(r.getLong(0))) {
        expected.put(r.getString(1) + "#" + r.getLong(2), planted.get(r.getLong(0)));
      }
    }
    assertEquals(expected, found);
    for (JsonNode r : lines) {
      assertFalse(r.has("key"), "no key column named");
    }
  }

  @Test
  void aSchemaNoRowCouldUseStopsTheJobNamingTheColumn() throws Exception {
    String path = hdfs("/lake/parquet/schemas");
    StructType schema = new StructType().add("id", DataTypes.LongType).add("body", DataTypes.StringType)
        .add("score", DataTypes.IntegerType).add("turns", DataTypes.createArrayType(DataTypes.StringType))
        .add("convo", DataTypes.createArrayType(new StructType().add("from", DataTypes.StringType)
            .add("content", DataTypes.StringType)));
    spark().createDataFrame(List.of(row(1L, "b", 3, List.of("x"), List.of(row("user", "x")))), schema)
        .write().parquet(path);
    String in = "source.format = parquet, input = \"" + path + "\", ";
    Map<String, String> cases = new java.util.LinkedHashMap<>();
    cases.put("format.type = text",
        "laketune.prep.format.fields.text names the column \"text\", which the source does not have; its columns are"
            + " id, body, score, turns, convo.");
    cases.put("format { type = text, fields.text = score }",
        "The column \"score\" (format.fields.text) is int, but format.type = text needs its text as a string column:"
            + " point format.fields.text at one, or cast it in a source.query.");
    cases.put("format { type = chat, fields.messages = turns }",
        "The column \"turns\" (format.fields.messages) is array<string>, but format.type = chat needs an array of"
            + " structs with role and content (format.fields.role, .content), or the messages as a JSON string.");
    cases.put("format { type = chat, fields.messages = convo }",
        "The structs of column \"convo\" have no field \"role\" (format.fields.role); they have from, content: set"
            + " format.fields.role to the one that holds the role.");
    cases.put("format { type = text, fields.text = body }, split.key = turns",
        "The column \"turns\" (laketune.prep.split.key) is array<string>, but laketune.prep.split.key must name a"
            + " string or number column that identifies a row.");
    // Spark's own sentence follows this one's start.
    cases.put("format { type = text, fields.text = body }, source.filter = \"lang = 'en'\"",
        "laketune.prep.source.filter = \"lang = 'en'\" cannot be applied to the source: [UNRESOLVED_COLUMN");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      PrepConfig config = config("llama3", in + c.getKey());
      String message = assertThrows(IllegalArgumentException.class, () -> run(config), c.getKey()).getMessage();
      assertTrue(message.startsWith(c.getValue()) && (message.equals(c.getValue()) || c.getKey().contains("filter")),
          c.getKey() + ": " + message);
      assertFalse(SparkHdfs.fs().exists(new Path(config.output())), "nothing written");
    }
    String notDelta = assertThrows(IllegalArgumentException.class,
        () -> run(config("llama3", "source.format = delta, input = \"" + path + "\""))).getMessage();
    assertEquals("laketune.prep.input: " + path + " is not a Delta table (it has no _delta_log); check the path,"
        + " or source.format.", notDelta);
  }
}
