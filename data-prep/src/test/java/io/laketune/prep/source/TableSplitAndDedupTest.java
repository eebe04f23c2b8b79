package io.laketune.prep.source;

import static io.laketune.prep.PreparedDocs.assertSameShards;
import static io.laketune.prep.PreparedDocs.direct;
import static io.laketune.prep.PreparedDocs.docs;
import static io.laketune.prep.PreparedDocs.expectedDocs;
import static io.laketune.prep.PreparedDocs.rows;
import static io.laketune.prep.source.LakeTables.config;
import static io.laketune.prep.source.LakeTables.hdfs;
import static io.laketune.prep.source.LakeTables.row;
import static io.laketune.prep.source.LakeTables.run;
import static io.laketune.prep.source.LakeTables.spark;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.split.SplitAssigner;
import io.laketune.prep.write.Manifest;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Dedup and the split across a whole Delta table, as across JSONL files: duplicates in different
 * commits (so different data files) are removed whatever the task layout, and a split by a key
 * column keeps every example in its split when rows are added.
 */
@Tag("integration")
class TableSplitAndDedupTest {

  private static final StructType SCHEMA = new StructType().add("id", DataTypes.LongType)
      .add("text", DataTypes.StringType);

  private static String text(long i) {
    return "Entry " + i + " records " + "a quiet harbour ".repeat((int) (1 + i % 3)) + "at dawn.";
  }

  private static void append(String path, long from, long to, List<ObjectNode> model) {
    List<Row> rows = new ArrayList<>();
    for (long i = from; i < to; i++) {
      rows.add(row(i, text(i)));
      model.add(LakeTables.object().put("id", i).put("text", text(i)));
    }
    spark().createDataFrame(rows, SCHEMA).repartition(2).write().format("delta").mode("append").save(path);
  }

  @Test
  void aKeySplitIsStableWhenRowsAreAddedAndDedupSpansCommits() throws Exception {
    String path = hdfs("/lake/delta/entries");
    List<ObjectNode> model = new ArrayList<>();
    append(path, 0, 60, model);
    String hocon = "source.format = delta, input = \"" + path + "\", length.seq_len = 48";
    String byId = hocon + ", split { key = id, validation_fraction = 0.3 }";
    PrepConfig before = config("llama3", byId);
    Manifest m0 = run(before);
    List<ObjectNode> validation = new ArrayList<>();
    for (ObjectNode r : model) {
      if (SplitAssigner.isValidation(SplitAssigner.idHash(r.get("id").toString()), 0.3)) {
        validation.add(r);
      }
    }
    assertEquals(validation.size(), m0.splits().get("validation").examples());
    assertEquals(expectedDocs(direct(before, validation)), docs(rows(before.output(), "validation")));
    List<String> trainBefore = docs(rows(before.output(), "train"));
    List<String> validationBefore = docs(rows(before.output(), "validation"));

    append(path, 60, 90, model);
    PrepConfig after = config("llama3", byId);
    Manifest m1 = run(after);
    assertEquals(90, m1.counts().kept());
    List<String> trainAfter = docs(rows(after.output(), "train"));
    List<String> validationAfter = docs(rows(after.output(), "validation"));
    assertTrue(validationAfter.containsAll(validationBefore), "validation examples stay in validation");
    assertTrue(trainAfter.containsAll(trainBefore), "train examples stay in train");
    assertTrue(validationAfter.size() > validationBefore.size() && trainAfter.size() > trainBefore.size());

    // Ten duplicates (other white space) of rows already there, in a new commit's files.
    List<Row> duplicates = new ArrayList<>();
    for (long i = 0; i < 10; i++) {
      duplicates.add(row(1000 + i, "  " + text(i).replace(" records ", "\trecords  ")));
    }
    spark().createDataFrame(duplicates, SCHEMA).write().format("delta").mode("append").save(path);
    String dedup = hocon + ", dedup = true, split.validation_fraction = 0.2";
    PrepConfig one = config("llama3", dedup + ", source.partitions = 1");
    Manifest m2 = run(one);
    assertEquals(100, m2.counts().recordsRead());
    assertEquals(10, m2.counts().duplicates());
    assertEquals(90, m2.counts().kept());
    PrepConfig five = config("llama3", dedup + ", source.partitions = 5");
    run(five);
    assertSameShards(one.output(), five.output());
  }
}
