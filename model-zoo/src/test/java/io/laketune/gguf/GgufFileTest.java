package io.laketune.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.io.HalfFloats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** The GGUF container: what the writer lays down byte by byte, and the reader's checks. */
class GgufFileTest {
  @TempDir Path tmp;

  static float[] values(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  GgufWriter sample(float[] a, float[] b, float[] c, float[] d, float[] e) {
    GgufWriter w = new GgufWriter("llama");
    w.put("t.u8", new GgufValue(GgufValueType.UINT8, null, 200L));
    w.put("t.i8", new GgufValue(GgufValueType.INT8, null, -5L));
    w.put("t.u16", new GgufValue(GgufValueType.UINT16, null, 65535L));
    w.put("t.i16", new GgufValue(GgufValueType.INT16, null, -32768L));
    w.put("t.u32", GgufValue.uint32(4_000_000_000L));
    w.put("t.i32", GgufValue.int32(-7));
    w.put("t.u64", GgufValue.uint64(1L << 40));
    w.put("t.i64", new GgufValue(GgufValueType.INT64, null, -(1L << 50)));
    w.put("t.f32", GgufValue.float32(0.1));
    w.put("t.f64", new GgufValue(GgufValueType.FLOAT64, null, Math.PI));
    w.put("t.bool", GgufValue.bool(true));
    w.put("t.str", GgufValue.string("héllo ▁ 🙂"));
    w.put("t.strs", GgufValue.strings(List.of("a", "", "Ġthe", "<|eot_id|>")));
    w.put("t.f32s", GgufValue.float32s(new float[] {-1000f, 0f, 1.5f}));
    w.put("t.i32s", GgufValue.int32s(new int[] {1, 3, 6}));
    w.addTensor("f32.weight", new long[] {3, 5}, GgmlType.F32, () -> TensorRows.of(a, 3, 5));
    w.addTensor("f16.weight", new long[] {2, 4}, GgmlType.F16, () -> TensorRows.of(b, 2, 4));
    w.addTensor("bf16.bias", new long[] {7}, GgmlType.BF16, () -> TensorRows.of(c, 1, 7));
    w.addTensor("q8.weight", new long[] {2, 64}, GgmlType.Q8_0, () -> TensorRows.of(d, 2, 64));
    w.addTensor("cube", new long[] {2, 3, 4}, GgmlType.F32, () -> TensorRows.of(Nd4j.create(e, new long[] {2, 3, 4}, 'c')));
    return w;
  }

  @Test
  void writesWhatTheReaderAndTheLayoutRulesExpect() throws Exception {
    float[] a = values(15, 1), b = values(8, 2), c = values(7, 3), d = values(128, 4), e = values(24, 5);
    Path file = tmp.resolve("x.gguf");
    long size = sample(a, b, c, d, e).write(file);
    assertEquals(Files.size(file), size);

    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer head = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals("GGUF", new String(bytes, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
    assertEquals(3, head.getInt(4), "version");
    assertEquals(5, head.getLong(8), "tensor count");
    assertEquals(16, head.getLong(16), "metadata count (general.architecture first)");
    long firstKeyLength = head.getLong(24);
    assertEquals("general.architecture", new String(bytes, 32, (int) firstKeyLength, java.nio.charset.StandardCharsets.UTF_8));

    GgufFile f = GgufFile.read(file);
    assertEquals(0, f.dataOffset() % 32, "data section aligned to 32");
    Map<String, GgufValue> m = f.metadata();
    assertEquals("llama", m.get("general.architecture").asString());
    assertEquals(200L, m.get("t.u8").asLong());
    assertEquals(-5L, m.get("t.i8").asLong());
    assertEquals(65535L, m.get("t.u16").asLong());
    assertEquals(-32768L, m.get("t.i16").asLong());
    assertEquals(4_000_000_000L, m.get("t.u32").asLong());
    assertEquals(GgufValueType.UINT32, m.get("t.u32").type());
    assertEquals(-7L, m.get("t.i32").asLong());
    assertEquals(1L << 40, m.get("t.u64").asLong());
    assertEquals(-(1L << 50), m.get("t.i64").asLong());
    assertEquals(0.1f, m.get("t.f32").asFloat());
    assertEquals(Math.PI, (Double) m.get("t.f64").value());
    assertTrue(m.get("t.bool").asBool());
    assertEquals("héllo ▁ 🙂", m.get("t.str").asString());
    assertEquals(List.of("a", "", "Ġthe", "<|eot_id|>"), m.get("t.strs").asList());
    assertEquals(GgufValueType.STRING, m.get("t.strs").elementType());
    assertEquals(List.of(-1000f, 0f, 1.5f), m.get("t.f32s").asList());
    assertEquals(List.of(1L, 3L, 6L), m.get("t.i32s").asList());
    assertEquals(GgufValueType.INT32, m.get("t.i32s").elementType());

    // ne is innermost first; offsets run on contiguously, each padded to 32 bytes
    assertArrayEquals(new long[] {5, 3}, f.tensor("f32.weight").ne());
    assertArrayEquals(new long[] {4, 3, 2}, f.tensor("cube").ne());
    long offset = 0;
    for (GgufFile.TensorInfo t : f.tensors().values()) {
      assertEquals(offset, t.offset(), t.name());
      offset += (t.bytes() + 31) / 32 * 32;
    }
    assertEquals(f.dataOffset() + offset, size, "the file ends after the last tensor's padding");
    assertEquals(136, f.tensor("q8.weight").bytes(), "2 rows x 2 blocks x 34 bytes");

    assertArrayEquals(a, f.floats("f32.weight"));
    assertArrayEquals(e, f.floats("cube"));
    float[] b16 = f.floats("f16.weight");
    for (int i = 0; i < b.length; i++) assertEquals(HalfFloats.f16BitsToFloat(HalfFloats.floatToF16Bits(b[i])), b16[i]);
    float[] c16 = f.floats("bf16.bias");
    for (int i = 0; i < c.length; i++) assertEquals(HalfFloats.bf16BitsToFloat(TensorCodec.floatToBf16(c[i])), c16[i]);
    float[] dq = f.floats("q8.weight");
    for (int blk = 0; blk < 4; blk++) {
      float amax = 0;
      for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(d[blk * 32 + j]));
      for (int j = 0; j < 32; j++) {
        int i = blk * 32 + j;
        assertEquals(d[i], dq[i], amax / 127 * 0.5 + amax * 1e-3, "Q8_0 error within half a step");
      }
    }
  }

  @Test
  void theWriterRefusesWhatGgmlWouldReject() {
    GgufWriter w = new GgufWriter("llama");
    float[] v = new float[48];
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> w.addTensor("q.weight", new long[] {1, 48}, GgmlType.Q8_0, () -> TensorRows.of(v, 1, 48))).getMessage()
        .contains("not a multiple of Q8_0's block of 32"));
    String longName = "blk.0." + "x".repeat(60) + ".weight";
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> w.addTensor(longName, new long[] {48}, GgmlType.F32, () -> TensorRows.of(v, 1, 48))).getMessage().contains("63 bytes"));
    w.addTensor("a.weight", new long[] {48}, GgmlType.F32, () -> TensorRows.of(v, 1, 48));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> w.addTensor("a.weight", new long[] {48}, GgmlType.F32, () -> TensorRows.of(v, 1, 48))).getMessage().contains("twice"));
    assertThrows(IllegalArgumentException.class, () -> w.addTensor("b", new long[] {1, 1, 1, 1, 1}, GgmlType.F32, null));
  }

  @Test
  void theReaderNamesWhatIsWrongWithAFile() throws Exception {
    float[] a = values(15, 1), b = values(8, 2), c = values(7, 3), d = values(128, 4), e = values(24, 5);
    Path good = tmp.resolve("good.gguf");
    sample(a, b, c, d, e).write(good);
    byte[] bytes = Files.readAllBytes(good);

    Path truncated = tmp.resolve("truncated.gguf");
    Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 40));
    assertTrue(assertThrows(IOException.class, () -> GgufFile.read(truncated)).getMessage().contains("ends before the data of tensor 'cube'"));

    Path header = tmp.resolve("header.gguf");
    Files.write(header, Arrays.copyOf(bytes, 300));
    assertTrue(assertThrows(IOException.class, () -> GgufFile.read(header)).getMessage().contains("ends inside its header"));

    byte[] v2 = bytes.clone();
    v2[4] = 2;
    Path old = tmp.resolve("v2.gguf");
    Files.write(old, v2);
    assertTrue(assertThrows(IOException.class, () -> GgufFile.read(old)).getMessage().contains("version 2"));

    byte[] magic = bytes.clone();
    magic[0] = 'X';
    Path notGguf = tmp.resolve("x.gguf");
    Files.write(notGguf, magic);
    assertTrue(assertThrows(IOException.class, () -> GgufFile.read(notGguf)).getMessage().contains("is not a GGUF file"));

    byte[] huge = bytes.clone();
    ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(16, 1L << 40);
    Path count = tmp.resolve("count.gguf");
    Files.write(count, huge);
    assertTrue(assertThrows(IOException.class, () -> GgufFile.read(count)).getMessage().contains("more than the file can hold"));
  }
}
