package io.laketune.prep.source;

import static io.laketune.prep.PreparedDocs.assertSameShards;
import static io.laketune.prep.PreparedDocs.direct;
import static io.laketune.prep.PreparedDocs.docs;
import static io.laketune.prep.PreparedDocs.expectedDocs;
import static io.laketune.prep.PreparedDocs.rows;
import static io.laketune.prep.source.LakeTables.config;
import static io.laketune.prep.source.LakeTables.fromManifest;
import static io.laketune.prep.source.LakeTables.hdfs;
import static io.laketune.prep.source.LakeTables.jsonl;
import static io.laketune.prep.source.LakeTables.row;
import static io.laketune.prep.source.LakeTables.run;
import static io.laketune.prep.source.LakeTables.spark;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.delta.tables.DeltaTable;
import io.laketune.prep.SparkHdfs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.write.Manifest;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Delta tables written with Spark in several commits (appends, an UPDATE, a DELETE) and prepared:
 * the dataset equals the one prepared from JSONL of the same records, byte for byte; time travel
 * by version and by timestamp reads that version's rows, as Delta itself reads them; the manifest
 * pins the version, so preparing from it again after the table moved on writes the same shards.
 */
@Tag("integration")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeltaSourceTest {

  private static final StructType SCHEMA = new StructType()
      .add("id", DataTypes.LongType)
      .add("text", DataTypes.StringType)
      .add("lang", DataTypes.StringType)
      .add("payload", DataTypes.StringType);

  private static final String TEXT = "format.type = text, length.seq_len = 64, split.validation_fraction = 0.2,"
      + " output_shards.shard_tokens = 600";

  /** The table's records as the job sees them (id, text, lang), by id. */
  private static ObjectNode record(long id, String text, String lang) {
    ObjectNode r = LakeTables.object();
    r.put("id", id);
    r.put("text", text);
    r.put("lang", lang);
    return r;
  }

  private static String text(long i) {
    return "Note " + i + " tells of " + "the lake and its tables ".repeat((int) (1 + i % 4)) + "in " + (1990 + i) + ".";
  }

  /** Appends rows from..to-1 to the table and to the model. */
  private static void append(String path, TreeMap<Long, ObjectNode> model, int from, int to) {
    List<Row> rows = new ArrayList<>();
    for (long i = from; i < to; i++) {
      String lang = i % 3 == 0 ? "de" : "en";
      rows.add(row(i, text(i), lang, "x".repeat(300)));
      model.put(i, record(i, text(i), lang));
    }
    spark().createDataFrame(rows, SCHEMA).repartition(2).write().format("delta").mode("append").save(path);
  }

  /** v0: 0..39, v1: 40..59, v2: UPDATE of every fifth text, v3: DELETE of id % 7 = 3; the model at each. */
  private static List<TreeMap<Long, ObjectNode>> fourCommits(String path) {
    List<TreeMap<Long, ObjectNode>> versions = new ArrayList<>();
    TreeMap<Long, ObjectNode> model = new TreeMap<>();
    append(path, model, 0, 40);
    versions.add(copy(model));
    append(path, model, 40, 60);
    versions.add(copy(model));
    spark().sql("UPDATE delta.`" + path + "` SET text = concat(text, ' Edited later.') WHERE id % 5 = 0");
    model.replaceAll((id, r) -> id % 5 == 0 ? record(id, r.get("text").asText() + " Edited later.", r.get("lang").asText()) : r);
    versions.add(copy(model));
    spark().sql("DELETE FROM delta.`" + path + "` WHERE id % 7 = 3");
    model.keySet().removeIf(id -> id % 7 == 3);
    versions.add(copy(model));
    return versions;
  }

  private static TreeMap<Long, ObjectNode> copy(TreeMap<Long, ObjectNode> model) {
    TreeMap<Long, ObjectNode> out = new TreeMap<>();
    model.forEach((k, v) -> out.put(k, v.deepCopy()));
    return out;
  }

  /** Prepares the records as JSONL with the same keys: what the table's dataset must equal; its output. */
  private static String asJsonl(String name, Map<Long, ObjectNode> records, String hocon) throws Exception {
    String in = jsonl("/in/" + name + ".jsonl", records.values());
    PrepConfig config = config("llama3", "input = \"" + in + "\", " + hocon);
    run(config);
    return config.output();
  }

  private static String path;
  private static List<TreeMap<Long, ObjectNode>> versions;
  private static String table;

  @BeforeAll
  static void writeTheTable() {
    path = hdfs("/lake/delta/notes");
    versions = fourCommits(path);
    table = "source.format = delta, input = \"" + path + "\", " + TEXT;
  }

  @Test
  @Order(1)
  void theLatestVersionPreparesLikeJsonlOfTheSameRecordsWithTheFilterPushedDown() throws Exception {
    TreeMap<Long, ObjectNode> latest = versions.get(3);
    PrepConfig config = config("llama3", table);
    Manifest m = run(config);
    assertEquals(latest.size(), m.counts().recordsRead());
    assertEquals(latest.size(), m.counts().kept());
    assertTrue(m.splits().get("train").shards().size() > 1, "several shards");
    List<String> all = new ArrayList<>(docs(rows(config.output(), "train")));
    all.addAll(docs(rows(config.output(), "validation")));
    all.sort(null);
    assertEquals(expectedDocs(direct(config, new ArrayList<>(latest.values()))), all);
    assertSameShards(asJsonl("notes-latest", latest, TEXT), config.output());

    SourceInfo source = m.source();
    assertEquals("delta", source.format());
    assertEquals(3L, source.version());
    assertEquals("latest", source.requested());
    assertEquals(SparkHdfs.fs().makeQualified(new Path(path)).toString(), source.location());
    assertEquals(DeltaTable.forPath(spark(), path).history(1).head().getTimestamp(1).toInstant().toString(),
        source.committedAt());
    assertEquals(3L, m.config().path("source").path("version").asLong(), "the manifest's config pins the version");

    PrepConfig english = config("llama3", table + ", source.filter = \"lang = 'en'\"");
    String plan = TableSource.resolve(spark(), english).rows().queryExecution().executedPlan().toString();
    assertTrue(plan.contains("PushedFilters: [IsNotNull(lang), EqualTo(lang,en)]"), plan);
    assertTrue(plan.contains("ReadSchema: struct<text:string,lang:string>"), plan);
    assertFalse(plan.contains("payload"), plan);
    Manifest filtered = run(english);
    TreeMap<Long, ObjectNode> inEnglish = new TreeMap<>(latest);
    inEnglish.values().removeIf(r -> !r.get("lang").asText().equals("en"));
    assertEquals(inEnglish.size(), filtered.counts().recordsRead());
    assertEquals("lang = 'en'", filtered.source().filter());
    List<String> kept = new ArrayList<>(docs(rows(english.output(), "train")));
    kept.addAll(docs(rows(english.output(), "validation")));
    kept.sort(null);
    assertEquals(expectedDocs(direct(english, new ArrayList<>(inEnglish.values()))), kept);
  }

  @Test
  @Order(2)
  void timeTravelByVersionAndByTimestampReadsThatVersionsRows() throws Exception {
    PrepConfig atOne = config("llama3", table + ", source.version = 1");
    Manifest v1 = run(atOne);
    assertEquals(1L, v1.source().version());
    assertEquals(versions.get(1).size(), v1.counts().kept());
    List<String> atVersionOne = new ArrayList<>(docs(rows(atOne.output(), "train")));
    atVersionOne.addAll(docs(rows(atOne.output(), "validation")));
    atVersionOne.sort(null);
    assertEquals(expectedDocs(direct(atOne, new ArrayList<>(versions.get(1).values()))), atVersionOne);

    // A time between the commits of versions 2 and 3 reads version 2, as Delta's timestampAsOf does.
    List<Row> history = DeltaTable.forPath(spark(), path).history().orderBy("version").collectAsList();
    Timestamp second = history.get(2).getTimestamp(1);
    Timestamp third = history.get(3).getTimestamp(1);
    assertTrue(third.getTime() - second.getTime() >= 2, "commits apart in time");
    String between = new Timestamp(second.getTime() + (third.getTime() - second.getTime()) / 2).toString();
    Manifest atTime = run(config("llama3", table + ", source.timestamp = \"" + between + "\""));
    assertEquals(2L, atTime.source().version());
    assertEquals("timestamp " + between, atTime.source().requested());
    assertEquals(versions.get(2).size(), atTime.counts().kept());
    TreeSet<Long> deltaSays = new TreeSet<>();
    for (Row r : spark().read().format("delta").option("timestampAsOf", between).load(path).select("id").collectAsList()) {
      deltaSays.add(r.getLong(0));
    }
    assertEquals(versions.get(2).keySet(), deltaSays);
    String after = new Timestamp(third.getTime() + 60_000).toString();
    String message = assertThrows(IllegalArgumentException.class,
        () -> run(config("llama3", table + ", source.timestamp = \"" + after + "\""))).getMessage();
    assertTrue(message.startsWith("laketune.prep.source.timestamp = \"" + after + "\" is after the latest commit"), message);
  }

  @Test
  @Order(3)
  void theManifestReproducesTheDatasetAfterTheTableMovedOn() throws Exception {
    PrepConfig latestConfig = config("llama3", table);
    Manifest first = run(latestConfig);
    assertEquals(3L, first.source().version());
    TreeMap<Long, ObjectNode> model = versions.get(3);
    append(path, model, 60, 75);
    spark().sql("DELETE FROM delta.`" + path + "` WHERE id < 10");
    PrepConfig pinned = fromManifest(first);
    Manifest replay = run(pinned);
    assertEquals(3L, replay.source().version());
    assertSameShards(latestConfig.output(), pinned.output());
    assertEquals(first.splits(), replay.splits());
    Manifest now = run(config("llama3", table));
    assertEquals(5L, now.source().version());
    assertNotEquals(first.counts().kept(), now.counts().kept());

    String beyond = assertThrows(IllegalArgumentException.class,
        () -> run(config("llama3", table + ", source.version = 9"))).getMessage();
    assertEquals("laketune.prep.source.version = 9, but the latest version of "
        + SparkHdfs.fs().makeQualified(new Path(path)) + " is 5.", beyond);
  }
}
