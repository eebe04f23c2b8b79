package io.laketune.prep.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdOutputStream;
import com.typesafe.config.ConfigFactory;
import io.laketune.model.Batch;
import io.laketune.prep.SparkHdfs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.format.RecordFormat;
import io.laketune.prep.format.Rendered;
import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.reader.BatchStream;
import io.laketune.prep.reader.Cursor;
import io.laketune.prep.reader.PreparedDataset;
import io.laketune.prep.reader.StreamOptions;
import io.laketune.prep.split.ContentHash;
import io.laketune.prep.split.SplitAssigner;
import io.laketune.prep.tokenize.ExampleTokenizer;
import io.laketune.prep.tokenize.TokenizedDoc;
import io.laketune.prep.tokenize.TokenizerCache;
import io.laketune.prep.write.Manifest;
import io.laketune.tokenizer.Tokenizer;
import io.laketune.tokenizer.TokenizerFixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.BZip2Codec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The prepare job in Spark local[2] with input, tokenizer and output on an in-process HDFS, on the
 * real Llama 3 and Qwen3 tokenizers.
 */
@Tag("integration")
class PrepareOnHdfsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> TOKENIZERS = new HashMap<>();
  private static int runs;

  @BeforeAll
  static void upload() throws IOException {
    for (String name : List.of("llama3", "qwen3")) {
      TOKENIZERS.put(name, SparkHdfs.upload(TokenizerFixtures.modelDir(name), "/models/" + name));
    }
  }

  private static PrepConfig config(String tokenizer, List<String> inputs, String output, String hocon) {
    String text = "laketune.prep { input = " + JSON.valueToTree(inputs) + ", output = \"" + output
        + "\", tokenizer = \"" + TOKENIZERS.get(tokenizer) + "\", progress_seconds = 0\n" + hocon + "\n}";
    return PrepConfigParser.parse(ConfigFactory.parseString(text), List.of());
  }

  private static String newOutput() {
    return SparkHdfs.hdfs() + "/out/run-" + (runs++);
  }

  private static Manifest run(PrepConfig config) throws IOException {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Manifest m = PrepareJob.run(SparkHdfs.spark(), config, new PrintStream(log, true, StandardCharsets.UTF_8));
    Manifest.Counts c = m.counts();
    assertEquals(c.recordsRead(), c.kept() + c.rejected() + c.dropped() + c.duplicates(), "every line accounted for");
    return m;
  }

  private static List<PackedRow> rows(String output, String split) throws IOException {
    PreparedDataset data = PreparedDataset.open(output, conf());
    List<PackedRow> rows = new ArrayList<>();
    for (int s = 0; s < data.split(split).shards().size(); s++) {
      rows.addAll(data.shard(split, s));
    }
    return rows;
  }

  private static Configuration conf() {
    return SparkHdfs.spark().sparkContext().hadoopConfiguration();
  }

  /** What the job should make of each line, computed without Spark. */
  private static List<TokenizedDoc> direct(PrepConfig config, List<String> lines) throws Exception {
    Tokenizer tokenizer = TokenizerCache.get(config.tokenizer(), null, conf());
    RecordFormat format = RecordFormat.of(config, tokenizer);
    ExampleTokenizer examples = new ExampleTokenizer(tokenizer, config);
    List<TokenizedDoc> out = new ArrayList<>();
    for (String line : lines) {
      Rendered rendered = format.render(JSON.readTree(line));
      TokenizedDoc doc = examples.tokenize(rendered);
      int n = Math.min(doc.length(), config.length().seqLen());
      out.add(new TokenizedDoc(Arrays.copyOf(doc.ids(), n), Arrays.copyOf(doc.labels(), n)));
    }
    return out;
  }

  /** Documents of packed rows, sorted; the first label of each is blanked (-100 by design after the first). */
  private static List<String> docs(List<PackedRow> rows) {
    List<String> out = new ArrayList<>();
    for (PackedRow row : rows) {
      int at = 0;
      for (int len : row.docLens()) {
        int[] labels = Arrays.copyOfRange(row.labels(), at, at + len);
        labels[0] = 0;
        out.add(Arrays.toString(Arrays.copyOfRange(row.ids(), at, at + len)) + Arrays.toString(labels));
        at += len;
      }
    }
    out.sort(null);
    return out;
  }

  private static List<String> expectedDocs(List<TokenizedDoc> docs) {
    List<String> out = new ArrayList<>();
    for (TokenizedDoc d : docs) {
      int[] labels = d.labels().clone();
      labels[0] = 0;
      out.add(Arrays.toString(d.ids()) + Arrays.toString(labels));
    }
    out.sort(null);
    return out;
  }

  private static String chat(int i) {
    return "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
        + "{\"role\": \"user\", \"content\": \"What is " + i + " + " + i + "?\"},"
        + "{\"role\": \"assistant\", \"content\": \"<think>\\nAdd them.\\n</think>\\n\\n" + (2 * i) + "\"},"
        + "{\"role\": \"user\", \"content\": \"And times " + i + "?\"},"
        + "{\"role\": \"assistant\", \"content\": \"" + (i * i) + ", of course.\"}]}";
  }

  private static String text(int i) {
    return "{\"id\": " + i + ", \"text\": \"" + "Document " + i + " is about ".repeat(1 + i % 9) + "nothing.\"}";
  }

  @Test
  void chatRowsAreExactlyTheDirectTokenizationOnBothTemplates() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      lines.add(chat(i));
    }
    String in = SparkHdfs.write("/in/chat.jsonl", String.join("\n", lines) + "\n");
    for (String tokenizer : List.of("qwen3", "llama3")) {
      PrepConfig config = config(tokenizer, List.of(in), newOutput(),
          "format.type = chat, pack.mode = none, length.seq_len = 512");
      Manifest m = run(config);
      assertEquals(40, m.counts().kept());
      assertEquals("none", m.packing());
      List<PackedRow> rows = rows(config.output(), "train");
      assertEquals(expectedDocs(direct(config, lines)), docs(rows));
      for (PackedRow row : rows) {
        assertEquals(1, row.docLens().length);
      }
    }
  }

  @Test
  void packedRowsKeepDocumentsWholeAndCountTruncation() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 120; i++) {
      lines.add(text(i));
    }
    lines.add("{\"text\": \"" + "word ".repeat(100) + "\"}");
    String in = SparkHdfs.write("/in/text.jsonl", String.join("\n", lines) + "\n");
    for (String mode : List.of("greedy", "best_fit")) {
      PrepConfig config = config("llama3", List.of(in), newOutput(),
          "pack.mode = " + mode + ", length.seq_len = 48, output_shards.shard_tokens = 1000");
      Manifest m = run(config);
      assertEquals(1, m.counts().truncated());
      assertTrue(m.splits().get("train").shards().size() > 1, "several shards");
      List<PackedRow> rows = rows(config.output(), "train");
      for (PackedRow row : rows) {
        assertTrue(row.length() <= 48);
        assertEquals(row.length(), Arrays.stream(row.docLens()).sum());
        int at = 0;
        for (int d = 0; d < row.docLens().length; d++) {
          if (d > 0) {
            assertEquals(-100, row.labels()[at], "no label across a document boundary");
          }
          at += row.docLens()[d];
        }
      }
      assertEquals(expectedDocs(direct(config, lines)), docs(rows));
      assertEquals(rows.size(), m.splits().get("train").rows());
    }
    PrepConfig drop = config("llama3", List.of(in), newOutput(), "length { seq_len = 48, policy = drop }");
    Manifest m = run(drop);
    assertEquals(Map.of("too_long", 1L), m.counts().droppedByReason());
    assertEquals(120, m.counts().kept());
  }

  @Test
  void splitAndDedupAreDeterministicAndBytesDoNotDependOnPartitioning() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      lines.add(text(i));
      if (i % 10 == 0) {
        // The same content with other white space: a duplicate after normalisation.
        lines.add(text(i).replace(" is about", "  is\\tabout"));
      }
    }
    String in = SparkHdfs.write("/in/dups.jsonl", String.join("\n", lines) + "\n");
    String hocon = "dedup = true, split.validation_fraction = 0.25, length.seq_len = 64,"
        + " output_shards.shard_tokens = 2000, seed = 7";
    PrepConfig a = config("llama3", List.of(in), newOutput(), hocon);
    PrepConfig b = config("llama3", List.of(in), newOutput(), hocon + ", read.split_bytes = 700");
    Manifest ma = run(a);
    Manifest mb = run(b);
    assertEquals(20, ma.counts().duplicates());
    assertEquals(200, ma.counts().kept());

    long validation = 0;
    for (int i = 0; i < 200; i++) {
      long[] hash = ContentHash.of(JSON.readTree(text(i)).get("text").textValue());
      validation += SplitAssigner.isValidation(hash[0], 0.25) ? 1 : 0;
    }
    assertEquals(validation, ma.splits().get("validation").examples());
    assertTrue(validation > 20 && validation < 80, "about a quarter: " + validation);

    assertEquals(ma.splits(), mb.splits());
    assertSameBytes(a.output(), b.output());
    PrepConfig byId = config("llama3", List.of(in), newOutput(), hocon + ", split.key = id");
    assertEquals(200, run(byId).counts().kept());
  }

  @Test
  void aRerunWritesByteIdenticalShardsAndManifest() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      lines.add(chat(i));
    }
    String in = SparkHdfs.write("/in/rerun.jsonl", String.join("\n", lines) + "\n");
    String hocon = "format.type = chat, pack.mode = best_fit, length.seq_len = 256, split.validation_fraction = 0.2";
    PrepConfig a = config("qwen3", List.of(in), newOutput(), hocon);
    PrepConfig b = config("qwen3", List.of(in), newOutput(), hocon);
    run(a);
    run(b);
    assertSameBytes(a.output(), b.output());
    String manifestA = read(a.output() + "/manifest.json").replace(a.output(), "OUT");
    String manifestB = read(b.output() + "/manifest.json").replace(b.output(), "OUT");
    assertEquals(manifestA, manifestB);
  }

  private static void assertSameBytes(String a, String b) throws IOException {
    FileSystem fs = SparkHdfs.fs();
    List<String> names = new ArrayList<>();
    for (String split : List.of("train", "validation")) {
      Path dir = new Path(a, split);
      if (fs.exists(dir)) {
        for (FileStatus f : fs.listStatus(dir)) {
          names.add(split + "/" + f.getPath().getName());
        }
      }
    }
    assertFalse(names.isEmpty());
    for (String name : names) {
      assertTrue(name.matches("(train|validation)/shard-\\d{5}\\.parquet"), name);
      assertArrayEquals(bytes(a + "/" + name), bytes(b + "/" + name), name);
    }
  }

  @Test
  void everyBadLineIsRejectedWithFileLineAndReason() throws Exception {
    ByteArrayOutputStream corpus = new ByteArrayOutputStream();
    Map<Integer, String> expected = new TreeMap<>();
    String good = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}";
    String[][] lines = {
        {good, null},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"", "malformed_json"},
        {"", "blank_line"},
        {"   ", "blank_line"},
        {"[1, 2]", "not_an_object"},
        {"{\"msgs\": []}", "missing_field"},
        {"{\"messages\": \"hello\"}", "wrong_type"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": 42}]}", "wrong_type"},
        {"{\"messages\": [{\"role\": \"user\"}]}", "missing_field"},
        {"{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}", "unknown_role"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}", "no_assistant_turn"},
        {"{\"messages\": []}", "empty_content"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(3000) + "\"}]}", "record_too_large"},
        {"INVALID_UTF8", "invalid_utf8"},
        {good + " trailing", "malformed_json"},
        {good, null},
    };
    for (int i = 0; i < lines.length; i++) {
      if (lines[i][0].equals("INVALID_UTF8")) {
        corpus.write(new byte[] {'{', '"', 'm', '"', ':', '"', (byte) 0xFF, (byte) 0xFE, '"', '}'});
      } else {
        corpus.write(lines[i][0].getBytes(StandardCharsets.UTF_8));
      }
      corpus.write('\n');
      if (lines[i][1] != null) {
        expected.put(i + 1, lines[i][1]);
      }
    }
    String in = SparkHdfs.write("/in/bad/corpus.jsonl", corpus.toByteArray());
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (OutputStream out = new GZIPOutputStream(gz)) {
      out.write(corpus.toByteArray());
    }
    String inGz = SparkHdfs.write("/in/bad/corpus.jsonl.gz", gz.toByteArray());
    // split_bytes = 64 cuts the plain file into many chunks: line numbers must still be exact.
    PrepConfig config = config("llama3", List.of(SparkHdfs.hdfs() + "/in/bad"), newOutput(),
        "format.type = chat, rejects.max_fraction = 1, length.max_record_bytes = 2k, read.split_bytes = 64");
    Manifest m = run(config);
    assertEquals(2L * lines.length, m.counts().recordsRead());
    assertEquals(4, m.counts().kept());
    assertEquals(2L * expected.size(), m.counts().rejected());
    assertEquals(2L * expected.size(), m.rejects().lines());

    Map<String, Map<Integer, String>> found = new TreeMap<>();
    for (String file : m.rejects().files()) {
      for (String line : read(config.output() + "/" + file).split("\n")) {
        JsonNode reject = JSON.readTree(line);
        assertFalse(reject.get("detail").asText().isEmpty());
        found.computeIfAbsent(reject.get("file").asText(), k -> new TreeMap<>())
            .put(reject.get("line").asInt(), reject.get("reason").asText());
      }
    }
    assertEquals(Map.of(in, expected, inGz, expected), found);
    Map<String, Long> byReason = new TreeMap<>();
    expected.values().forEach(r -> byReason.merge(r, 2L, Long::sum));
    assertEquals(byReason, m.counts().rejectedByReason());
  }

  @Test
  void tooManyRejectsFailTheJobAndLeaveNoDataset() throws Exception {
    String in = SparkHdfs.write("/in/mostly-bad.jsonl", "{\"text\": \"good\"}\nbad\nbad\n");
    PrepConfig config = config("llama3", List.of(in), newOutput(), "rejects.max_fraction = 0.5");
    String message = assertThrows(IllegalArgumentException.class, () -> run(config)).getMessage();
    assertTrue(message.startsWith("2 of 3 lines (66.67%) were rejected, more than rejects.max_fraction = 0.5"), message);
    assertFalse(SparkHdfs.fs().exists(new Path(config.output())));
    String staging = message.substring(message.indexOf("see ") + 4, message.indexOf("/rejects/"));
    assertTrue(SparkHdfs.fs().exists(new Path(staging, "rejects/part-00000.jsonl")));
    assertFalse(SparkHdfs.fs().exists(new Path(staging, "manifest.json")));
  }

  @Test
  void anExistingDatasetIsReplacedOnlyWhenAsked() throws Exception {
    String in = SparkHdfs.write("/in/small.jsonl", "{\"text\": \"one\"}\n{\"text\": \"two\"}\n");
    String out = newOutput();
    run(config("llama3", List.of(in), out, ""));
    String message = assertThrows(IllegalArgumentException.class,
        () -> run(config("llama3", List.of(in), out, ""))).getMessage();
    assertTrue(message.contains("already exists") && message.contains("overwrite = true"), message);
    SparkHdfs.write("/in/small.jsonl", "{\"text\": \"three\"}\n");
    assertEquals(1, run(config("llama3", List.of(in), out, "overwrite = true")).counts().kept());
  }

  @Test
  void compressedFilesGlobsAndDirectories() throws Exception {
    byte[] text = (text(1) + "\n" + text(2) + "\n" + text(3) + "\n").getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (OutputStream out = new GZIPOutputStream(gz)) {
      out.write(text);
    }
    ByteArrayOutputStream zst = new ByteArrayOutputStream();
    try (OutputStream out = new ZstdOutputStream(zst)) {
      out.write(text);
    }
    ByteArrayOutputStream bz2 = new ByteArrayOutputStream();
    BZip2Codec codec = new BZip2Codec();
    codec.setConf(new Configuration());
    try (OutputStream out = codec.createOutputStream(bz2)) {
      out.write(text);
    }
    SparkHdfs.write("/in/mixed/a.jsonl.gz", gz.toByteArray());
    SparkHdfs.write("/in/mixed/b.jsonl.zst", zst.toByteArray());
    SparkHdfs.write("/in/mixed/sub/c.jsonl.bz2", bz2.toByteArray());
    SparkHdfs.write("/in/mixed/_SUCCESS", "");
    SparkHdfs.write("/in/other/d.jsonl", new String(text, StandardCharsets.UTF_8));
    Manifest m = run(config("llama3",
        List.of(SparkHdfs.hdfs() + "/in/mixed", "/in/oth*/*.jsonl"), newOutput(), ""));
    assertEquals(12, m.counts().recordsRead());
    assertEquals(12, m.counts().kept());
  }

  @Test
  void theReaderStreamsTheJobOutputAcrossWorkers() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 90; i++) {
      lines.add(text(i));
    }
    String in = SparkHdfs.write("/in/reader.jsonl", String.join("\n", lines) + "\n");
    PrepConfig config = config("llama3", List.of(in), newOutput(),
        "length.seq_len = 64, output_shards.shard_tokens = 500");
    Manifest m = run(config);
    PreparedDataset data = PreparedDataset.open(config.output(), new Configuration(conf()));
    long rows = 0;
    long tokens = 0;
    for (int w = 0; w < 3; w++) {
      try (BatchStream batches = data.stream("train", new StreamOptions(4, 1, w, 3, false), Cursor.start(0))) {
        while (batches.hasNext()) {
          Batch batch = batches.next();
          rows += batch.batchSize();
          for (int[] mask : batch.attentionMask()) {
            tokens += Arrays.stream(mask).sum();
          }
        }
      }
    }
    assertEquals(m.splits().get("train").rows(), rows);
    assertEquals(m.splits().get("train").tokens(), tokens);
  }

  private static byte[] bytes(String path) throws IOException {
    try (InputStream in = SparkHdfs.fs().open(new Path(path))) {
      return in.readAllBytes();
    }
  }

  private static String read(String path) throws IOException {
    return new String(bytes(path), StandardCharsets.UTF_8);
  }
}
