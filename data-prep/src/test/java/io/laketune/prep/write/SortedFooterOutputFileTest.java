package io.laketune.prep.write;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.reader.ShardReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.Util;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shard's bytes are parquet-mr's with only the footer's encodings lists put in ascending order
 * (parquet-mr's own order follows identity hash codes, which change between JVMs).
 */
class SortedFooterOutputFileTest {

  private static final Configuration CONF = new Configuration();

  private static List<PackedRow> rows() {
    List<PackedRow> rows = new ArrayList<>();
    for (int r = 0; r < 300; r++) {
      int[] ids = new int[40 + r % 9];
      int[] labels = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = (r * 31 + i * 7) % 500;
        labels[i] = i < 5 ? -100 : ids[i];
      }
      rows.add(new PackedRow(ids, labels, new int[] {ids.length}));
    }
    return rows;
  }

  private static void write(ShardWriter w) throws Exception {
    try (w) {
      for (PackedRow row : rows()) {
        w.write(row);
      }
    }
  }

  private static FileMetaData footer(byte[] file) throws Exception {
    int length = ByteBuffer.wrap(file, file.length - 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    return Util.readFileMetaData(new java.io.ByteArrayInputStream(file, file.length - 8 - length, length));
  }

  @Test
  void onlyTheFootersEncodingsOrderDiffersFromParquetMrs(@TempDir Path dir) throws Exception {
    Path raw = dir.resolve("raw.parquet");
    Path sorted = dir.resolve("sorted.parquet");
    write(new ShardWriter(HadoopOutputFile.fromPath(new org.apache.hadoop.fs.Path(raw.toUri()), CONF), CONF));
    write(new ShardWriter(new org.apache.hadoop.fs.Path(sorted.toUri()), CONF));
    byte[] rawBytes = Files.readAllBytes(raw);
    byte[] sortedBytes = Files.readAllBytes(sorted);

    assertArrayEquals(SortedFooterOutputFile.sortFooter(rawBytes), sortedBytes);
    assertEquals(rawBytes.length, sortedBytes.length);
    int differing = 0;
    for (int i = 0; i < rawBytes.length; i++) {
      differing += rawBytes[i] != sortedBytes[i] ? 1 : 0;
    }
    assertTrue(differing <= 2 * 3 * 4, "at most a few encodings swapped per column: " + differing);
    int chunks = 0;
    for (var group : footer(sortedBytes).getRow_groups()) {
      for (ColumnChunk chunk : group.getColumns()) {
        List<Encoding> encodings = chunk.getMeta_data().getEncodings();
        assertTrue(encodings.size() >= 2, "levels and data: " + encodings);
        List<Encoding> ascending = new ArrayList<>(encodings);
        ascending.sort(java.util.Comparator.comparingInt(Encoding::getValue));
        assertEquals(ascending, encodings);
        chunks++;
      }
    }
    assertEquals(3, chunks);
    List<PackedRow> back = ShardReader.read(new org.apache.hadoop.fs.Path(sorted.toUri()), CONF);
    assertEquals(rows().size(), back.size());
    for (int r = 0; r < back.size(); r++) {
      assertArrayEquals(rows().get(r).ids(), back.get(r).ids());
      assertArrayEquals(rows().get(r).labels(), back.get(r).labels());
    }
    assertArrayEquals(Arrays.copyOf(sortedBytes, 4), "PAR1".getBytes());
  }
}
