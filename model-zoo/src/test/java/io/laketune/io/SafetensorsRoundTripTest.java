package io.laketune.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Write → read round trips: bit-exact per dtype, dtype conversions, chunking, views and edge shapes. */
class SafetensorsRoundTripTest {

  @TempDir Path dir;

  private static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void everyDtypeRoundTripsBitExact() throws IOException {
    Path file = dir.resolve("all.safetensors");
    SafetensorsWriter w = new SafetensorsWriter();
    long[] shape = {3, 5};
    for (DType t : DType.values()) {
      byte[] bytes = randomBytes(15 * t.size(), t.ordinal());
      if (t == DType.BOOL) {
        for (int i = 0; i < bytes.length; i++) {
          bytes[i] = (byte) (bytes[i] & 1);
        }
      }
      w.addRaw(t.name(), t, shape, bytes);
    }
    w.write(file);

    Path again = dir.resolve("again.safetensors");
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      SafetensorsWriter copy = new SafetensorsWriter();
      for (DType t : DType.values()) {
        TensorInfo info = r.info(t.name());
        assertEquals(t, info.dtype());
        assertArrayEquals(shape, info.shape());
        if (t.isRawOnly()) {
          assertThrows(IOException.class, () -> r.read(t.name()));
          copy.addRaw(t.name(), t, shape, r.readBytes(t.name()));
        } else {
          INDArray a = r.read(t.name());
          assertEquals(t.toNd4j(), a.dataType());
          copy.add(t.name(), a);
        }
      }
      copy.write(again);
    }
    assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(again));
  }

  @Test
  void convertsBetweenNumericDtypes() throws IOException {
    Path file = dir.resolve("values.safetensors");
    double[] values = {0, 1, 2, 3, 100, 7};
    DType[] numeric = {DType.F64, DType.F32, DType.F16, DType.BF16, DType.I64, DType.I32, DType.I16, DType.I8,
        DType.U64, DType.U32, DType.U16, DType.U8};
    SafetensorsWriter w = new SafetensorsWriter();
    INDArray source = Nd4j.createFromArray(values);
    for (DType t : numeric) {
      w.add(t.name(), source, t);
    }
    w.write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      for (DType from : numeric) {
        for (DType to : numeric) {
          INDArray a = r.read(from.name(), to.toNd4j());
          assertEquals(to.toNd4j(), a.dataType());
          for (int i = 0; i < values.length; i++) {
            assertEquals(values[i], a.getDouble(i), 0.0, from + " → " + to);
          }
        }
        INDArray bools = r.read(from.name(), DataType.BOOL);
        assertEquals(false, bools.getDouble(0) != 0);
        assertEquals(true, bools.getDouble(1) != 0);
      }
    }
  }

  @Test
  void signedAndWideIntegersKeepTheirValues() throws IOException {
    Path file = dir.resolve("ints.safetensors");
    long[] longs = {Long.MIN_VALUE, -1, 0, 1L << 53 | 1, Long.MAX_VALUE};
    new SafetensorsWriter()
        .add("l", Nd4j.createFromArray(longs))
        .add("i", Nd4j.createFromArray(-7, 0, Integer.MAX_VALUE))
        .add("b", Nd4j.createFromArray(new byte[] {-128, 127}))
        .write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertArrayEquals(longs, r.read("l").toLongVector());
      assertArrayEquals(new long[] {-7, 0, Integer.MAX_VALUE}, r.read("i", DataType.LONG).toLongVector());
      assertArrayEquals(new long[] {-128, 127}, r.read("b", DataType.LONG).toLongVector());
      assertArrayEquals(new long[] {-128, 127}, r.read("b", DataType.SHORT).toLongVector());
    }
  }

  @Test
  void bf16AndF16StorageRoundLikeTorchAcrossChunks() throws IOException {
    // More elements than one conversion chunk, so the chunk loop and the window offsets are exercised.
    int n = SafetensorsReader.CHUNK_ELEMENTS * 2 + 12348;
    float[] values = new float[n];
    Random random = new Random(7);
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian() * 100;
    }
    INDArray x = Nd4j.createFromArray(values).reshape(n / 5, 5);
    Path file = dir.resolve("half.safetensors");
    new SafetensorsWriter().add("bf", x, DType.BF16).add("h", x, DType.F16).add("f", x).write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      float[] bf = r.read("bf", DataType.FLOAT).reshape(n).toFloatVector();
      float[] h = r.read("h", DataType.FLOAT).reshape(n).toFloatVector();
      float[] f = r.read("f", DataType.FLOAT).reshape(n).toFloatVector();
      ByteBuffer raw = ByteBuffer.wrap(r.readBytes("bf")).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        short expectedBf = HalfFloats.floatToBf16Bits(values[i]);
        assertEquals(expectedBf, raw.getShort(2 * i));
        assertEquals(HalfFloats.bf16BitsToFloat(expectedBf), bf[i]);
        assertEquals(HalfFloats.f16BitsToFloat(HalfFloats.floatToF16Bits(values[i])), h[i]);
        assertEquals(values[i], f[i]);
      }
      INDArray asBf16 = r.read("bf", DataType.BFLOAT16);
      assertEquals(DataType.BFLOAT16, asBf16.dataType());
      assertEquals(bf[n - 1], asBf16.getFloat(n / 5 - 1, 4));
    }
  }

  @Test
  void readsIntoViewsOfAFlatBuffer() throws IOException {
    Path file = dir.resolve("view.safetensors");
    INDArray w = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}});
    new SafetensorsWriter().add("w", w, DType.BF16).write(file);
    INDArray flat = Nd4j.zeros(DataType.FLOAT, 10);
    INDArray view = flat.get(NDArrayIndex.interval(3, 9)).reshape(2, 3);
    INDArray transposed = Nd4j.zeros(DataType.FLOAT, 3, 2).transpose();
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      r.readInto("w", view);
      r.readInto("w", transposed);
      assertThrows(IllegalArgumentException.class, () -> r.readInto("w", Nd4j.zeros(DataType.FLOAT, 3, 2)));
    }
    assertArrayEquals(new float[] {0, 0, 0, 1, 2, 3, 4, 5, 6, 0}, flat.toFloatVector());
    assertEquals(w, transposed);
  }

  @Test
  void writesNonContiguousArraysInRowMajorOrder() throws IOException {
    INDArray base = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}});
    INDArray t = base.transpose();
    INDArray f = base.dup('f');
    Path file = dir.resolve("layout.safetensors");
    new SafetensorsWriter().add("t", t).add("f", f, DType.F64).write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertEquals(t, r.read("t"));
      assertEquals(base.castTo(DataType.DOUBLE), r.read("f"));
    }
  }

  @Test
  void scalarsAndEmptyTensors() throws IOException {
    Path file = dir.resolve("edge.safetensors");
    new SafetensorsWriter()
        .add("empty", Nd4j.create(DataType.FLOAT, 0, 4), DType.BF16)
        .add("scalar", Nd4j.scalar(3.5f))
        .addRaw("zero", DType.I32, new long[] {2, 0}, new byte[0])
        .write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      INDArray empty = r.read("empty", DataType.FLOAT);
      assertTrue(empty.isEmpty());
      assertArrayEquals(new long[] {0, 4}, empty.shape());
      assertEquals(0, r.info("empty").byteLength());
      INDArray scalar = r.read("scalar");
      assertEquals(0, scalar.rank());
      assertEquals(3.5f, scalar.getFloat(0));
      assertEquals(0, r.readBytes("zero").length);
    }
  }

  @Test
  void metadataAndLookups() throws IOException {
    Path file = dir.resolve("meta.safetensors");
    SafetensorsWriter w = new SafetensorsWriter().metadata("step", "12").metadata(Map.of("format", "np"));
    w.add("x", Nd4j.ones(DataType.FLOAT, 2));
    assertThrows(IllegalArgumentException.class, () -> w.add("x", Nd4j.ones(DataType.FLOAT, 2)));
    assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", Nd4j.ones(DataType.FLOAT, 2)));
    assertThrows(IllegalArgumentException.class, () -> w.addRaw("r", DType.F32, new long[] {3}, new byte[8]));
    w.write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertEquals(java.util.List.of("format", "step"), java.util.List.copyOf(r.metadata().keySet()));
      assertEquals("np", r.metadata().get("format"));
      assertTrue(r.contains("x"));
      IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> r.info("y"));
      assertTrue(missing.getMessage().contains("'y'") && missing.getMessage().contains("meta.safetensors"));
      ByteBuffer part = ByteBuffer.allocate(4);
      r.readBytes("x", 4, part);
      assertEquals(1.0f, part.order(ByteOrder.LITTLE_ENDIAN).getFloat(0));
    }
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count(), "the temporary file was renamed into place");
    }
  }
}
