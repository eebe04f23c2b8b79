package io.laketune.prep.source;

import static io.laketune.prep.PreparedDocs.assertSameShards;
import static io.laketune.prep.PreparedDocs.direct;
import static io.laketune.prep.PreparedDocs.docs;
import static io.laketune.prep.PreparedDocs.expectedDocs;
import static io.laketune.prep.PreparedDocs.rows;
import static io.laketune.prep.source.LakeTables.config;
import static io.laketune.prep.source.LakeTables.fromManifest;
import static io.laketune.prep.source.LakeTables.row;
import static io.laketune.prep.source.LakeTables.run;
import static io.laketune.prep.source.LakeTables.spark;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.write.Manifest;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Catalog tables (spark_catalog with its warehouse on HDFS: a Parquet table and a Delta table made
 * with saveAsTable) by name, a query that renames columns for the alpaca format, and a SQL query
 * that joins and filters them through views: the rows
 * prepared are the query's, the manifest records the version of the Delta table the query read,
 * and the pinned configuration reads that version after the table changed.
 */
@Tag("integration")
class CatalogAndSqlTest {

  private static final String PC = "format.type = prompt_completion, length.seq_len = 64";

  @Test
  void aCatalogTableAndAJoinWithAFilterPrepareTheirRows() throws Exception {
    spark().sql("CREATE DATABASE IF NOT EXISTS crm");
    StructType tickets = new StructType().add("id", DataTypes.LongType).add("user_id", DataTypes.IntegerType)
        .add("prompt", DataTypes.StringType).add("completion", DataTypes.StringType);
    List<Row> ticketRows = new ArrayList<>();
    List<ObjectNode> all = new ArrayList<>();
    for (long i = 0; i < 30; i++) {
      String prompt = "Ticket " + i + ": my order is late. ";
      String completion = "We are sorry; order " + i + " ships on day " + (i % 7) + ".";
      ticketRows.add(row(i, (int) (i % 10), prompt, completion));
      all.add(LakeTables.object().put("id", i).put("prompt", prompt).put("completion", completion));
    }
    spark().createDataFrame(ticketRows, tickets).repartition(2).write().format("parquet").saveAsTable("crm.tickets");
    StructType users = new StructType().add("user_id", DataTypes.IntegerType).add("region", DataTypes.StringType);
    List<Row> userRows = new ArrayList<>();
    for (int u = 0; u < 10; u++) {
      userRows.add(row(u, u % 2 == 0 ? "eu" : "us"));
    }
    spark().createDataFrame(userRows, users).write().format("delta").saveAsTable("crm.users");
    spark().sql("UPDATE crm.users SET region = 'eu' WHERE user_id = 3");   // version 1

    PrepConfig byName = config("llama3", "source { format = table, table = crm.tickets }, " + PC);
    Manifest table = run(byName);
    assertEquals(30, table.counts().kept());
    assertEquals("parquet", table.source().provider());
    assertEquals(2, table.source().files().count());
    assertEquals(expectedDocs(direct(byName, all)), docs(rows(byName.output(), "train")));

    // alpaca from columns a query renames; alpaca's input is optional, and absent here
    PrepConfig alpaca = config("llama3", "source { format = sql, query = \"SELECT prompt AS instruction, completion"
        + " AS output FROM crm.tickets WHERE id < 10\" }, format.type = alpaca, length.seq_len = 96");
    Manifest renamed = run(alpaca);
    assertEquals(10, renamed.counts().kept());
    List<ObjectNode> instructions = new ArrayList<>();
    for (ObjectNode r : all.subList(0, 10)) {
      instructions.add(LakeTables.object().put("instruction", r.get("prompt").asText())
          .put("output", r.get("completion").asText()));
    }
    assertEquals(expectedDocs(direct(alpaca, instructions)), docs(rows(alpaca.output(), "train")));
    assertEquals("sql", renamed.source().format());

    String sql = "source { format = sql, query = \"SELECT t.id, t.prompt, t.completion FROM t JOIN u"
        + " ON t.user_id = u.user_id WHERE u.region = 'eu' AND t.id % 3 <> 0\","
        + " views { t { format = table, table = crm.tickets }, u { format = table, table = crm.users } } }, " + PC;
    PrepConfig query = config("llama3", sql);
    Manifest joined = run(query);
    List<ObjectNode> expected = new ArrayList<>();
    for (ObjectNode r : all) {
      long id = r.get("id").asLong();
      int user = (int) (id % 10);
      if ((user % 2 == 0 || user == 3) && id % 3 != 0) {
        expected.add(r);
      }
    }
    assertEquals(expected.size(), joined.counts().kept());
    assertEquals(expectedDocs(direct(query, expected)), docs(rows(query.output(), "train")));
    SourceInfo u = joined.source().views().get("u");
    assertEquals("delta", u.provider());
    assertEquals(1L, u.version());
    assertTrue(joined.source().query().contains("JOIN u"));
    assertEquals(1L, joined.config().path("source").path("views").path("u").path("version").asLong());

    // Users move regions; the pinned query still reads version 1 of crm.users.
    spark().sql("UPDATE crm.users SET region = 'us' WHERE user_id IN (0, 2, 4)");
    PrepConfig pinned = fromManifest(joined);
    run(pinned);
    assertSameShards(query.output(), pinned.output());
    Manifest moved = run(config("llama3", sql));
    assertEquals(2L, moved.source().views().get("u").version());
    assertTrue(moved.counts().kept() < joined.counts().kept());
  }
}
