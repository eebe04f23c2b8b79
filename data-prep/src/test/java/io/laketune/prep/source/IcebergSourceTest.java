package io.laketune.prep.source;

import static io.laketune.prep.PreparedDocs.assertSameShards;
import static io.laketune.prep.PreparedDocs.direct;
import static io.laketune.prep.PreparedDocs.docs;
import static io.laketune.prep.PreparedDocs.expectedDocs;
import static io.laketune.prep.PreparedDocs.read;
import static io.laketune.prep.PreparedDocs.rows;
import static io.laketune.prep.source.LakeTables.config;
import static io.laketune.prep.source.LakeTables.hdfs;
import static io.laketune.prep.source.LakeTables.jsonl;
import static io.laketune.prep.source.LakeTables.row;
import static io.laketune.prep.source.LakeTables.run;
import static io.laketune.prep.source.LakeTables.spark;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.write.Manifest;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.hadoop.HadoopTables;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * An Iceberg table of chats (messages as an array of structs) in a Hadoop catalog on HDFS, written
 * in four commits (two appends, an UPDATE, a DELETE) and prepared by path and by catalog name: the
 * dataset equals the JSONL one of the same conversations, snapshot_id and as_of read that snapshot,
 * and a bad row is rejected with its data file and position.
 */
@Tag("integration")
class IcebergSourceTest {

  private static final StructType MESSAGE = new StructType()
      .add("role", DataTypes.StringType)
      .add("content", DataTypes.StringType);
  private static final StructType SCHEMA = new StructType()
      .add("id", DataTypes.LongType)
      .add("messages", DataTypes.createArrayType(MESSAGE))
      .add("channel", DataTypes.StringType);
  private static final String CHAT = "format.type = chat, length.seq_len = 128, split.validation_fraction = 0.25,"
      + " output_shards.shard_tokens = 1500, rejects.max_fraction = 0.1";

  private static String[][] conversation(long i) {
    return new String[][] {{"user", "What is " + i + " times three?"}, {"assistant", "It is " + (3 * i) + "."}};
  }

  private static ObjectNode record(long id, String[][] turns) {
    ObjectNode r = LakeTables.object();
    r.put("id", id);
    ArrayNode messages = r.putArray("messages");
    for (String[] t : turns) {
      messages.addObject().put("role", t[0]).put("content", t[1]);
    }
    return r;
  }

  private static Row tableRow(long id, String[][] turns) {
    List<Row> messages = new ArrayList<>();
    for (String[] t : turns) {
      messages.add(row(t[0], t[1]));
    }
    return row(id, messages, id % 2 == 0 ? "web" : "mail");
  }

  private static void append(String table, TreeMap<Long, ObjectNode> model, int from, int to) throws Exception {
    List<Row> rows = new ArrayList<>();
    for (long i = from; i < to; i++) {
      rows.add(tableRow(i, conversation(i)));
      model.put(i, record(i, conversation(i)));
    }
    spark().createDataFrame(rows, SCHEMA).writeTo(table).append();
  }

  @Test
  void snapshotsPrepareLikeJsonlByPathAndByNameAndBadRowsKeepTheirFileAndPosition() throws Exception {
    String warehouse = hdfs("/lake/iceberg");
    spark().conf().set("spark.sql.catalog.lake", "org.apache.iceberg.spark.SparkCatalog");
    spark().conf().set("spark.sql.catalog.lake.type", "hadoop");
    spark().conf().set("spark.sql.catalog.lake.warehouse", warehouse);
    String name = "lake.support.chats";
    spark().sql("CREATE TABLE " + name + " (id BIGINT, messages ARRAY<STRUCT<role: STRING, content: STRING>>,"
        + " channel STRING) USING iceberg");
    TreeMap<Long, ObjectNode> model = new TreeMap<>();
    append(name, model, 0, 24);
    append(name, model, 24, 40);
    TreeMap<Long, ObjectNode> second = new TreeMap<>(model);
    spark().sql("UPDATE " + name + " SET messages = array(named_struct('role', 'user', 'content', concat('Again, "
        + "what is ', CAST(id AS STRING), '?')), named_struct('role', 'assistant', 'content', concat('Still ', "
        + "CAST(id AS STRING), '.'))) WHERE id % 4 = 0");
    model.replaceAll((id, r) -> id % 4 != 0 ? r
        : record(id, new String[][] {{"user", "Again, what is " + id + "?"}, {"assistant", "Still " + id + "."}}));
    spark().sql("DELETE FROM " + name + " WHERE id % 6 = 1");
    model.keySet().removeIf(id -> id % 6 == 1);
    // One conversation whose answer is null: rejected, the others kept.
    spark().createDataFrame(List.of(tableRow(99, new String[][] {{"user", "Hello?"}, {"assistant", null}})), SCHEMA)
        .writeTo(name).append();

    String path = warehouse + "/support/chats";
    Table table = new HadoopTables(spark().sparkContext().hadoopConfiguration()).load(path);
    List<Snapshot> snapshots = new ArrayList<>();
    table.snapshots().forEach(snapshots::add);
    assertEquals(5, snapshots.size());

    PrepConfig byPath = config("llama3", "source.format = iceberg, input = \"" + path + "\", " + CHAT);
    Manifest m = run(byPath);
    assertEquals(model.size() + 1, m.counts().recordsRead());
    assertEquals(model.size(), m.counts().kept());
    assertEquals(table.currentSnapshot().snapshotId(), m.source().snapshotId());
    assertEquals(table.location(), m.source().location());
    List<String> all = new ArrayList<>(docs(rows(byPath.output(), "train")));
    all.addAll(docs(rows(byPath.output(), "validation")));
    all.sort(null);
    assertEquals(expectedDocs(direct(byPath, new ArrayList<>(model.values()))), all);
    PrepConfig jsonl = config("llama3", "input = \"" + jsonl("/in/iceberg-chats.jsonl", model.values()) + "\", " + CHAT);
    run(jsonl);
    assertSameShards(jsonl.output(), byPath.output());

    JsonNode reject = LakeTables.JSON.readTree(read(byPath.output() + "/" + m.rejects().files().get(0)).strip());
    assertEquals("missing_field", reject.get("reason").asText());
    Row located = spark().read().format("iceberg").load(path).select("_file", "_pos", "id")
        .where("id = 99").head();
    assertEquals(located.getString(0), reject.get("file").asText());
    assertEquals(located.getLong(1), reject.get("row").asLong());

    PrepConfig byName = config("llama3", "source { format = table, table = \"" + name + "\" }, " + CHAT);
    Manifest named = run(byName);
    assertEquals("iceberg", named.source().provider());
    assertEquals(m.source().snapshotId(), named.source().snapshotId());
    assertSameShards(byPath.output(), byName.output());

    // snapshot_id and as_of: the second append, and a time between it and the update.
    Snapshot two = snapshots.get(1);
    PrepConfig atSnapshot = config("llama3", "source { format = iceberg, snapshot_id = " + two.snapshotId()
        + " }, input = \"" + path + "\", " + CHAT);
    assertEquals(second.size(), run(atSnapshot).counts().kept());
    PrepConfig secondJsonl = config("llama3", "input = \"" + jsonl("/in/iceberg-second.jsonl", second.values()) + "\", " + CHAT);
    run(secondJsonl);
    assertSameShards(secondJsonl.output(), atSnapshot.output());
    long between = two.timestampMillis() + (snapshots.get(2).timestampMillis() - two.timestampMillis()) / 2;
    PrepConfig atTime = config("llama3", "source { format = iceberg, as_of = \"" + new Timestamp(between)
        + "\" }, input = \"" + path + "\", " + CHAT);
    Manifest timed = run(atTime);
    assertEquals(two.snapshotId(), timed.source().snapshotId());
    assertSameShards(secondJsonl.output(), atTime.output());
    PrepConfig atMillis = config("llama3", "source { format = iceberg, as_of = " + between + " }, input = \""
        + path + "\", " + CHAT);
    assertEquals(two.snapshotId(), TableSource.resolve(spark(), atMillis).info().snapshotId());
    assertTrue(m.config().path("source").path("snapshot_id").asLong() == m.source().snapshotId());
  }
}
