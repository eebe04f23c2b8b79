package io.laketune.prep.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.laketune.prep.SparkHdfs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.job.PrepareJob;
import io.laketune.prep.write.Manifest;
import io.laketune.tokenizer.TokenizerFixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

/**
 * What the table-source tests share: tokenizers on the test HDFS, configurations with a fresh
 * output each, running the job, and the same records as JSONL for the byte-for-byte comparison of a
 * table's dataset with a JSONL file's.
 */
final class LakeTables {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> TOKENIZERS = new HashMap<>();
  private static final AtomicInteger RUNS = new AtomicInteger();

  private LakeTables() {}

  static SparkSession spark() {
    return SparkHdfs.spark();
  }

  static String hdfs(String path) {
    return SparkHdfs.hdfs() + path;
  }

  static synchronized String tokenizer(String name) throws IOException {
    if (!TOKENIZERS.containsKey(name)) {
      TOKENIZERS.put(name, SparkHdfs.upload(TokenizerFixtures.modelDir(name), "/models/" + name));
    }
    return TOKENIZERS.get(name);
  }

  static String newOutput() {
    return hdfs("/out/lake-" + RUNS.getAndIncrement());
  }

  /** @param hocon keys of laketune.prep besides tokenizer, output and progress_seconds */
  static PrepConfig config(String tokenizer, String hocon) throws IOException {
    String text = "laketune.prep { output = \"" + newOutput() + "\", tokenizer = \"" + tokenizer(tokenizer)
        + "\", progress_seconds = 0\n" + hocon + "\n}";
    return PrepConfigParser.parse(ConfigFactory.parseString(text), List.of());
  }

  /** The configuration a manifest records, to prepare again into a new output. */
  static PrepConfig fromManifest(Manifest m) {
    String text = "laketune.prep " + m.config().toString();
    return PrepConfigParser.parse(ConfigFactory.parseString(text), List.of("output=\"" + newOutput() + "\""));
  }

  static Manifest run(PrepConfig config) throws IOException {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Manifest m = PrepareJob.run(spark(), config, new PrintStream(log, true, StandardCharsets.UTF_8));
    Manifest.Counts c = m.counts();
    assertEquals(c.recordsRead(), c.kept() + c.rejected() + c.dropped() + c.duplicates(), "every record accounted for");
    return m;
  }

  /** Writes the records as a JSONL file on the test HDFS; returns its URI. */
  static String jsonl(String path, Collection<? extends JsonNode> records) throws IOException {
    StringBuilder s = new StringBuilder();
    for (JsonNode r : records) {
      s.append(JSON.writeValueAsString(r)).append('\n');
    }
    return SparkHdfs.write(path, s.toString());
  }

  static ObjectNode object() {
    return JSON.createObjectNode();
  }

  static Row row(Object... values) {
    return RowFactory.create(values);
  }
}
