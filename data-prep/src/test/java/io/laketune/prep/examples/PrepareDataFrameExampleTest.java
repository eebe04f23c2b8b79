package io.laketune.prep.examples;

import static io.laketune.prep.PreparedDocs.direct;
import static io.laketune.prep.PreparedDocs.docs;
import static io.laketune.prep.PreparedDocs.expectedDocs;
import static io.laketune.prep.PreparedDocs.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.laketune.prep.Prepare;
import io.laketune.prep.SparkHdfs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.reader.PreparedDataset;
import io.laketune.tokenizer.TokenizerFixtures;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The README's DataFrame example on a real Delta table: its rows are what it prepares. */
@Tag("integration")
class PrepareDataFrameExampleTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theReadmeExamplePreparesTheDataFramesRows() throws Exception {
    SparkSession spark = SparkHdfs.spark();
    StructType message = new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType);
    StructType schema = new StructType().add("ticket_id", DataTypes.StringType).add("language", DataTypes.StringType)
        .add("messages", DataTypes.createArrayType(message));
    String table = SparkHdfs.hdfs() + "/lake/delta/tickets";
    List<ObjectNode> english = new ArrayList<>();
    for (int commit = 0; commit < 3; commit++) {
      List<Row> rows = new ArrayList<>();
      for (int i = commit * 8; i < commit * 8 + 8; i++) {
        String language = i % 4 == 0 ? "fr" : "en";
        String question = "Ticket T-" + i + ": the invoice is wrong.";
        String answer = "Invoice " + i + " is corrected.";
        rows.add(RowFactory.create("T-" + i, language, List.of(RowFactory.create("user", question),
            RowFactory.create("assistant", answer))));
        if (commit < 2 && language.equals("en")) {
          ObjectNode r = JSON.createObjectNode();
          r.putArray("messages").add(JSON.createObjectNode().put("role", "user").put("content", question))
              .add(JSON.createObjectNode().put("role", "assistant").put("content", answer));
          english.add(r);
        }
      }
      spark.createDataFrame(rows, schema).write().format("delta").mode("append").save(table);
    }
    String tokenizer = SparkHdfs.upload(TokenizerFixtures.modelDir("llama3"), "/models/llama3-example");
    String output = SparkHdfs.hdfs() + "/out/example-tickets";

    PreparedDataset data = PrepareDataFrameExample.prepareChats(spark, table, tokenizer, output);
    assertEquals(english.size(), data.manifest().counts().kept());
    assertEquals("dataframe", data.manifest().source().format());
    assertEquals("ticket_id", data.manifest().source().key());
    PrepConfig config = Prepare.config(ConfigFactory.parseString("laketune.prep " + data.manifest().config()));
    List<String> prepared = new ArrayList<>(docs(rows(output, "train")));
    prepared.addAll(docs(rows(output, "validation")));
    prepared.sort(null);
    assertEquals(expectedDocs(direct(config, english)), prepared);

    String refused = assertThrows(IllegalArgumentException.class, () -> Prepare.config(ConfigFactory.parseString(
        "laketune.prep { input = \"/x.jsonl\", output = o, tokenizer = t }"))).getMessage();
    assertTrue(refused.startsWith("laketune.prep.input ("), refused);
    assertTrue(refused.endsWith("is set, but the DataFrame given to Prepare.prepare is the input: remove input."), refused);
  }
}
