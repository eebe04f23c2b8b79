package io.laketune.prep.source;

import static io.laketune.prep.PreparedDocs.assertSameShards;
import static io.laketune.prep.PreparedDocs.docs;
import static io.laketune.prep.PreparedDocs.read;
import static io.laketune.prep.PreparedDocs.rows;
import static io.laketune.prep.source.LakeTables.config;
import static io.laketune.prep.source.LakeTables.fromManifest;
import static io.laketune.prep.source.LakeTables.hdfs;
import static io.laketune.prep.source.LakeTables.jsonl;
import static io.laketune.prep.source.LakeTables.object;
import static io.laketune.prep.source.LakeTables.row;
import static io.laketune.prep.source.LakeTables.run;
import static io.laketune.prep.source.LakeTables.spark;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.SparkHdfs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.write.Manifest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A tenant per input: tenant.inputs names each tenant's JSONL files, and a query adds a literal tenant
 * column per table. Either keeps tenants apart exactly as tenant.column does for the same records, and
 * a tenant's rejects are counted in its manifest and carry its name in rejects/.
 */
@Tag("integration")
class TenantSourcesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TEXT = "format.type = text, length.seq_len = 64, pack.mode = none,"
      + " split.validation_fraction = 0.25, rejects.max_fraction = 0.5";

  static List<ObjectNode> stories(String tenant, int n) {
    List<ObjectNode> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(object().put("customer", tenant).put("text", "Ticket " + i + " of " + tenant + ": the parcel came on day "
          + (i % 9) + " and the " + (i % 2 == 0 ? "box" : "lid") + " was fine."));
    }
    return out;
  }

  static String lines(List<ObjectNode> records) throws Exception {
    StringBuilder s = new StringBuilder();
    for (JsonNode r : records) s.append(JSON.writeValueAsString(r)).append('\n');
    return s.toString();
  }

  @Test
  void aTenantPerDirectoryKeepsTenantsApartAsATenantColumnDoes() throws Exception {
    List<ObjectNode> acme = stories("acme", 24), globex = stories("globex", 12);
    // acme's records in two files of its directory, one with a broken line and one without text
    String bad = "{\"customer\": \"acme\", \"text\": \"unterminated\n{\"customer\": \"acme\", \"body\": \"no text field\"}\n";
    SparkHdfs.write("/tenants-in/acme/a.jsonl", lines(acme.subList(0, 14)) + bad);
    SparkHdfs.write("/tenants-in/acme/b.jsonl", lines(acme.subList(14, 24)));
    String globexFile = jsonl("/tenants-in/globex.jsonl", globex);

    PrepConfig perInput = config("llama3", "tenant.inputs { acme = \"" + hdfs("/tenants-in/acme") + "\", globex = [\""
        + globexFile + "\"] }, " + TEXT);
    assertEquals(List.of(), perInput.input().stream().filter(p -> !p.contains("/tenants-in/")).toList());
    Manifest m = run(perInput);
    assertEquals(List.of("acme", "globex"), List.copyOf(m.tenants().keySet()));
    Manifest.TenantInfo a = m.tenants().get("acme"), g = m.tenants().get("globex");
    assertEquals(24, a.counts().kept());
    assertEquals(12, g.counts().kept());
    assertEquals(2, a.counts().rejected(), "acme's two bad lines are acme's rejects");
    assertEquals(Map.of("malformed_json", 1L, "missing_field", 1L), a.counts().rejectedByReason());
    assertEquals(0, g.counts().rejected());
    assertEquals(2, m.counts().rejected());
    List<JsonNode> rejects = rejectLines(perInput.output(), m);
    assertEquals(2, rejects.size());
    for (JsonNode r : rejects) {
      assertEquals("acme", r.path("tenant").asText(), "a reject names its tenant: " + r);
      assertTrue(r.path("file").asText().endsWith("/tenants-in/acme/a.jsonl"), r.toString());
    }

    // The same records in one file, each naming its tenant: the same tenants' datasets, byte for byte.
    List<ObjectNode> all = new ArrayList<>(acme);
    all.addAll(globex);
    String oneFile = SparkHdfs.write("/tenants-in/all.jsonl", lines(all) + bad);
    PrepConfig byColumn = config("llama3", "input = \"" + oneFile + "\", tenant.column = customer, " + TEXT);
    Manifest c = run(byColumn);
    for (String t : List.of("acme", "globex")) {
      assertSameShards(perInput.output() + "/tenants/" + t, byColumn.output() + "/tenants/" + t);
      assertEquals(m.tenants().get(t).counts().kept(), c.tenants().get(t).counts().kept());
    }
    assertEquals(1, c.tenants().get("acme").counts().rejected(),
        "with tenant.column, the record that parses and names acme is acme's reject; the broken line is nobody's");
    assertEquals(2, c.counts().rejected());
    long named = rejectLines(byColumn.output(), c).stream().filter(r -> r.path("tenant").asText().equals("acme")).count();
    assertEquals(1, named);

    // The manifest's configuration prepares it again, to the same shards.
    PrepConfig again = fromManifest(m);
    assertEquals(perInput.tenantInputs(), again.tenantInputs());
    run(again);
    assertSameShards(perInput.output() + "/tenants/acme", again.output() + "/tenants/acme");
  }

  @Test
  void aTenantPerTableIsALiteralColumnOfAQuery() throws Exception {
    spark().sql("CREATE DATABASE IF NOT EXISTS tenants_db");
    StructType schema = new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
    Map<String, Integer> sizes = new TreeMap<>(Map.of("acme", 20, "globex", 8));
    for (Map.Entry<String, Integer> t : sizes.entrySet()) {
      List<Row> rows = new ArrayList<>();
      for (ObjectNode s : stories(t.getKey(), t.getValue())) rows.add(row((long) rows.size(), s.get("text").asText()));
      spark().createDataFrame(rows, schema).write().format("delta").saveAsTable("tenants_db." + t.getKey() + "_tickets");
    }
    PrepConfig query = config("llama3", "source { format = sql, query = \"SELECT text, 'acme' AS tenant FROM a"
        + " UNION ALL SELECT text, 'globex' AS tenant FROM g\", views { a { format = table, table ="
        + " tenants_db.acme_tickets }, g { format = table, table = tenants_db.globex_tickets } } },"
        + " tenant.column = tenant, " + TEXT);
    Manifest m = run(query);
    assertEquals(List.copyOf(sizes.keySet()), List.copyOf(m.tenants().keySet()));
    for (Map.Entry<String, Integer> t : sizes.entrySet()) {
      Manifest.TenantInfo info = m.tenants().get(t.getKey());
      assertEquals(t.getValue().longValue(), info.counts().kept(), t.getKey());
      String dir = query.output() + "/" + info.path();
      List<String> docs = docs(rows(dir, "train"));
      docs.addAll(docs(rows(dir, "validation")));
      assertEquals(t.getValue().intValue(), docs.size(), t.getKey() + ": its own rows, and only them");
    }
    assertEquals(0L, m.source().views().get("a").version(), "each tenant's table version is pinned");
  }

  @Test
  void badTenantInputsAreOneSentence() throws Exception {
    String file = jsonl("/tenants-bad/x.jsonl", stories("x", 3));
    String both = message(() -> config("llama3", "input = \"" + file + "\", tenant.inputs { x = \"" + file + "\" }, " + TEXT));
    assertTrue(both.startsWith("laketune.prep.input (") && both.endsWith(") is set, but tenant.inputs names the inputs, each"
        + " tenant's own: move these paths under tenant.inputs, or remove tenant.inputs."), both);
    assertTrue(message(() -> config("llama3", "tenant.inputs { x = \"" + file + "\" }, tenant.column = customer, " + TEXT))
        .contains(") is set, but tenant.inputs already names each record's tenant by the file it is in: keep one of them."));
    assertTrue(message(() -> config("llama3", "tenant.inputs { \".hidden\" = \"" + file + "\" }, " + TEXT))
        .contains("names a tenant \".hidden\" that cannot name a directory"));
    assertTrue(message(() -> config("llama3", "tenant.inputs { x = [] }, " + TEXT))
        .contains("is empty: give the JSONL files of tenant x"));
    assertTrue(message(() -> config("llama3", "source.format = delta, tenant.inputs { x = \"" + file + "\" }, " + TEXT))
        .contains("a tenant per input is for JSONL files; for tables set tenant.column"));
    PrepConfig overlap = config("llama3", "tenant.inputs { x = \"" + file + "\", y = \"" + hdfs("/tenants-bad") + "\" }, "
        + TEXT);
    assertEquals("laketune.prep.tenant.inputs: " + file + " is an input of tenant x and of tenant y; a file's records"
        + " belong to one tenant: narrow the paths so that each file is one tenant's.", message(() -> run(overlap)));
    PrepConfig missing = config("llama3", "tenant.inputs { x = \"" + hdfs("/tenants-bad/none-*.jsonl") + "\" }, " + TEXT);
    assertTrue(message(() -> run(missing)).startsWith("laketune.prep.tenant.inputs.x: "), message(() -> run(missing)));
  }

  interface Call {
    Object call() throws Exception;
  }

  static String message(Call call) {
    return assertThrows(IllegalArgumentException.class, call::call).getMessage();
  }

  static List<JsonNode> rejectLines(String output, Manifest m) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String f : m.rejects().files()) {
      for (String line : read(output + "/" + f).split("\n")) out.add(JSON.readTree(line));
    }
    return out;
  }
}
