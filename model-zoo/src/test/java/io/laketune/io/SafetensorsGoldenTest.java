package io.laketune.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Format compatibility: a file built byte by byte the way the reference Rust implementation serialises
 * (u64 LE header length, compact JSON with __metadata__ first, space padding to a multiple of 8,
 * tensors back to back), compared with what the writer produces and read back by the reader.
 */
class SafetensorsGoldenTest {

  /** 196 bytes of JSON; with 4 spaces of padding the header is 200 = 0xC8 bytes. */
  private static final String HEADER_JSON =
      "{\"__metadata__\":{\"format\":\"pt\"},"
          + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
          + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[8,12]},"
          + "\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[12,20]}}";

  static byte[] golden() {
    HexFormat hex = HexFormat.of();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(hex.parseHex("c800000000000000"));
    out.writeBytes(HEADER_JSON.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes("    ".getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(hex.parseHex("0000803f" + "000020c0")); // a: F32 1.0, -2.5
    out.writeBytes(hex.parseHex("803f" + "20c0")); // b: BF16 1.0, -2.5
    out.writeBytes(hex.parseHex("feffffffffffffff")); // c: I64 -2
    return out.toByteArray();
  }

  @Test
  void goldenIsWhatTheSpecSays() {
    byte[] g = golden();
    assertEquals(196, HEADER_JSON.length());
    assertEquals(8 + 200 + 20, g.length);
  }

  @Test
  void writerProducesGoldenBytes() throws IOException {
    SafetensorsWriter w = new SafetensorsWriter();
    w.add("a", Nd4j.createFromArray(1.0f, -2.5f));
    // 1.00390625 is a tie between bf16 1.0 and 1.0078125 and rounds to even: 0x3F80.
    w.add("b", Nd4j.createFromArray(new float[][] {{1.00390625f, -2.5f}}), DType.BF16);
    w.add("c", Nd4j.scalar(-2L));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    w.write(out);
    assertArrayEquals(golden(), out.toByteArray());
    assertEquals(golden().length, w.fileSize());
  }

  @Test
  void readerReadsGoldenFile(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("golden.safetensors");
    Files.write(file, golden());
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertEquals(Map.of("format", "pt"), r.metadata());
      assertEquals(List.of("a", "b", "c"), r.tensors().stream().map(TensorInfo::name).toList());
      TensorInfo b = r.info("b");
      assertEquals(DType.BF16, b.dtype());
      assertArrayEquals(new long[] {1, 2}, b.shape());
      assertEquals(8, b.begin());
      assertEquals(12, b.end());
      INDArray a = r.read("a", DataType.FLOAT);
      assertArrayEquals(new float[] {1.0f, -2.5f}, a.toFloatVector());
      INDArray bf = r.read("b", DataType.FLOAT);
      assertArrayEquals(new long[] {1, 2}, bf.shape());
      assertArrayEquals(new float[] {1.0f, -2.5f}, bf.reshape(2).toFloatVector());
      INDArray c = r.read("c");
      assertEquals(DataType.LONG, c.dataType());
      assertEquals(0, c.rank());
      assertEquals(-2L, c.getLong(0));
      assertArrayEquals(HexFormat.of().parseHex("803f20c0"), r.readBytes("b"));
    }
  }
}
