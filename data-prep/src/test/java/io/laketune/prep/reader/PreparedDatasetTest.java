package io.laketune.prep.reader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.laketune.model.Batch;
import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.write.Manifest;
import io.laketune.prep.write.ShardSchema;
import io.laketune.prep.write.ShardWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader on a small hand-made dataset on the local FileSystem: 3 shards of 7, 5 and 9 rows. */
class PreparedDatasetTest {

  private static final Configuration CONF = new Configuration();
  private static final int SEQ_LEN = 8;
  private static final int PAD = 999;

  @TempDir static Path dir;

  /** Row r of the dataset holds token id r first, then a second document of 2 tokens. */
  static PackedRow row(int r) {
    return new PackedRow(new int[] {r, 1, 2, 3, 4}, new int[] {-100, 1, 2, -100, 4}, new int[] {3, 2});
  }

  @BeforeAll
  static void write() throws Exception {
    int[] sizes = {7, 5, 9};
    List<Manifest.ShardInfo> shards = new ArrayList<>();
    int r = 0;
    for (int s = 0; s < sizes.length; s++) {
      String name = "train/shard-0000" + s + ".parquet";
      try (ShardWriter w = new ShardWriter(new org.apache.hadoop.fs.Path(dir.resolve(name).toUri()), CONF)) {
        for (int i = 0; i < sizes[s]; i++) {
          w.write(row(r++));
        }
      }
      shards.add(new Manifest.ShardInfo(name, sizes[s], sizes[s], 5L * sizes[s], 3L * sizes[s]));
    }
    Manifest m = new Manifest(ShardSchema.FORMAT, ShardSchema.VERSION, "test", SEQ_LEN, "greedy", "completion",
        new Manifest.TokenizerInfo("t", "f", null, 2, PAD),
        new Manifest.Counts(21, 21, 0, Map.of(), 0, Map.of(), 0, 0),
        Map.of("train", new Manifest.SplitInfo(21, 21, 105, 63, shards),
            "validation", new Manifest.SplitInfo(0, 0, 0, 0, List.of())),
        new Manifest.Rejects(0, List.of()), null, JsonNodeFactory.instance.objectNode(), null, null);
    m.write(new org.apache.hadoop.fs.Path(dir.toUri()), CONF);
  }

  private static PreparedDataset open() throws Exception {
    return PreparedDataset.open(dir.toUri().toString(), CONF);
  }

  /** The first token of every row of every batch: which rows the worker got, in order. */
  private static List<Integer> firstTokens(BatchStream stream) {
    List<Integer> out = new ArrayList<>();
    while (stream.hasNext()) {
      for (int[] row : stream.next().inputIds()) {
        out.add(row[0]);
      }
    }
    return out;
  }

  @Test
  void workersTogetherReadEveryRowOnce() throws Exception {
    PreparedDataset data = open();
    Set<Integer> seen = new HashSet<>();
    int total = 0;
    for (int w = 0; w < 4; w++) {
      List<Integer> rows = firstTokens(data.stream("train", new StreamOptions(3, 7, w, 4, false), Cursor.start(0)));
      total += rows.size();
      seen.addAll(rows);
    }
    assertEquals(21, total);
    assertEquals(21, seen.size());
  }

  @Test
  void evenSharesGiveEveryWorkerTheSameNumberOfRows() throws Exception {
    PreparedDataset data = open();
    for (int w = 0; w < 4; w++) {
      assertEquals(5, firstTokens(data.stream("train", new StreamOptions(2, 7, w, 4, true), Cursor.start(1))).size());
    }
  }

  @Test
  void orderIsDeterministicPerSeedAndEpoch() throws Exception {
    PreparedDataset data = open();
    StreamOptions options = new StreamOptions(4, 7, 1, 2, false);
    List<Integer> a = firstTokens(data.stream("train", options, Cursor.start(0)));
    assertEquals(a, firstTokens(open().stream("train", options, Cursor.start(0))));
    assertNotEquals(a, firstTokens(data.stream("train", options, Cursor.start(1))));
    assertNotEquals(a, firstTokens(data.stream("train", new StreamOptions(4, 8, 1, 2, false), Cursor.start(0))));
  }

  @Test
  void aCursorResumesTheSameStream() throws Exception {
    PreparedDataset data = open();
    StreamOptions options = new StreamOptions(3, 11, 0, 1, true);
    List<Integer> all = firstTokens(data.stream("train", options, Cursor.start(2)));
    BatchStream first = data.stream("train", options, Cursor.start(2));
    first.next();
    first.next();
    Cursor cursor = Cursor.parse(first.cursor().toString());
    assertEquals(new Cursor(2, 6), cursor);
    assertEquals(all.subList(6, all.size()), firstTokens(data.stream("train", options, cursor)));
  }

  @Test
  void batchesArePaddedWithPositionsResetPerDocument() throws Exception {
    Batch batch = open().stream("train", new StreamOptions(2, 1, 0, 1, true), Cursor.start(0)).next();
    assertEquals(2, batch.batchSize());
    assertEquals(SEQ_LEN, batch.seqLen());
    int r = batch.inputIds()[0][0];
    assertArrayEquals(new int[] {r, 1, 2, 3, 4, PAD, PAD, PAD}, batch.inputIds()[0]);
    assertArrayEquals(new int[] {-100, 1, 2, -100, 4, -100, -100, -100}, batch.labels()[0]);
    assertArrayEquals(new int[] {1, 1, 1, 1, 1, 0, 0, 0}, batch.attentionMask()[0]);
    assertArrayEquals(new int[] {0, 1, 2, 0, 1, 0, 0, 0}, batch.positionIds()[0]);
    assertArrayEquals(new int[] {1, 1, 1, 2, 2, 0, 0, 0}, batch.segmentIds()[0]);
  }

  @Test
  void unpackedRowsHaveNoSegments() {
    Batch batch = RowBatcher.batch(List.of(new PackedRow(new int[] {5}, new int[] {5}, new int[] {1})), 2, 0, false);
    assertNull(batch.segmentIds());
  }

  @Test
  void aDirectoryWithoutManifestIsNoDataset(@TempDir Path empty) {
    String message = assertThrows(IllegalArgumentException.class,
        () -> PreparedDataset.open(empty.toUri().toString(), CONF)).getMessage();
    assertTrue(message.contains("has no manifest.json"), message);
  }
}
