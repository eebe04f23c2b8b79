package io.laketune.prep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.format.RecordFormat;
import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.reader.PreparedDataset;
import io.laketune.prep.tokenize.ExampleTokenizer;
import io.laketune.prep.tokenize.TokenizedDoc;
import io.laketune.prep.tokenize.TokenizerCache;
import io.laketune.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What a prepared dataset holds, compared with what it should: the documents of its rows against
 * the direct tokenization of the records (computed here without Spark), and shard files byte for
 * byte against another dataset's.
 */
public final class PreparedDocs {

  private PreparedDocs() {}

  /** All rows of a split, shard after shard. */
  public static List<PackedRow> rows(String output, String split) throws IOException {
    PreparedDataset data = PreparedDataset.open(output, SparkHdfs.spark().sparkContext().hadoopConfiguration());
    List<PackedRow> rows = new ArrayList<>();
    for (int s = 0; s < data.split(split).shards().size(); s++) {
      rows.addAll(data.shard(split, s));
    }
    return rows;
  }

  /** What the job should make of each record (truncated to seq_len), without Spark. */
  public static List<TokenizedDoc> direct(PrepConfig config, List<? extends JsonNode> records) throws Exception {
    Tokenizer tokenizer = TokenizerCache.get(config.tokenizer(), null, SparkHdfs.spark().sparkContext().hadoopConfiguration());
    RecordFormat format = RecordFormat.of(config, tokenizer);
    ExampleTokenizer examples = new ExampleTokenizer(tokenizer, config);
    List<TokenizedDoc> out = new ArrayList<>();
    for (JsonNode record : records) {
      TokenizedDoc doc = examples.tokenize(format.render(record));
      int n = Math.min(doc.length(), config.length().seqLen());
      out.add(new TokenizedDoc(Arrays.copyOf(doc.ids(), n), Arrays.copyOf(doc.labels(), n)));
    }
    return out;
  }

  /** Documents of packed rows, sorted; the first label of each is blanked (-100 by design after the first). */
  public static List<String> docs(List<PackedRow> rows) {
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

  /** The same form as {@link #docs} for directly tokenized records. */
  public static List<String> expectedDocs(List<TokenizedDoc> docs) {
    List<String> out = new ArrayList<>();
    for (TokenizedDoc d : docs) {
      int[] labels = d.labels().clone();
      labels[0] = 0;
      out.add(Arrays.toString(d.ids()) + Arrays.toString(labels));
    }
    out.sort(null);
    return out;
  }

  /** Every shard of a, and the same shard of b, hold the same bytes (and b has no others). */
  public static void assertSameShards(String a, String b) throws IOException {
    List<String> names = shardNames(a);
    assertFalse(names.isEmpty(), "no shards in " + a);
    assertTrue(names.equals(shardNames(b)), "shard files of " + a + " " + names + " vs " + b + " " + shardNames(b));
    for (String name : names) {
      assertArrayEquals(bytes(a + "/" + name), bytes(b + "/" + name), name);
    }
  }

  /** rejects/ of a and b hold the same files with the same bytes. */
  public static void assertSameRejects(String a, String b) throws IOException {
    List<String> names = listed(a, "rejects");
    assertTrue(names.equals(listed(b, "rejects")), names + " vs " + listed(b, "rejects"));
    for (String name : names) {
      assertArrayEquals(bytes(a + "/" + name), bytes(b + "/" + name), name);
    }
  }

  private static List<String> shardNames(String dir) throws IOException {
    List<String> names = new ArrayList<>(listed(dir, "train"));
    names.addAll(listed(dir, "validation"));
    return names;
  }

  private static List<String> listed(String dir, String sub) throws IOException {
    FileSystem fs = SparkHdfs.fs();
    List<String> names = new ArrayList<>();
    Path p = new Path(dir, sub);
    if (fs.exists(p)) {
      for (FileStatus f : fs.listStatus(p)) {
        names.add(sub + "/" + f.getPath().getName());
      }
    }
    names.sort(null);
    return names;
  }

  public static byte[] bytes(String path) throws IOException {
    try (InputStream in = SparkHdfs.fs().open(new Path(path))) {
      return in.readAllBytes();
    }
  }

  public static String read(String path) throws IOException {
    return new String(bytes(path), StandardCharsets.UTF_8);
  }
}
