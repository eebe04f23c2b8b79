package io.laketune.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tensor of more than 2^31 bytes (140,000 × 4,000 fp32 = 2.24 GB, larger than Llama 3's 2.1 GB
 * embedding) survives write and read, both as-is and converted to bf16. Needs about 2.3 GB of native
 * memory and 2.3 GB of disk; run with
 * {@code mvn -o -B -pl model-zoo test -Dtest=LargeTensorTest -Dsurefire.excludedGroups=}.
 */
@Tag("slow")
class LargeTensorTest {

  private static final long ROWS = 140_000;
  private static final long COLS = 4_000;

  /** Element i holds a value that is exact in fp32 and differs between neighbours and across 2 GB. */
  private static float valueAt(long i) {
    return (float) (i % 1_000_003) - 500_000f;
  }

  @Test
  void tensorOverTwoGigabytesRoundTrips(@TempDir Path dir) throws IOException {
    long numel = ROWS * COLS;
    Path file = dir.resolve("big.safetensors");
    INDArray x = Nd4j.createUninitialized(DataType.FLOAT, ROWS, COLS);
    int chunk = 1 << 20;
    for (long done = 0; done < numel; done += chunk) {
      int n = (int) Math.min(chunk, numel - done);
      FloatBuffer w = NativeBytes.window(x, done * 4, n * 4).asFloatBuffer();
      for (int i = 0; i < n; i++) {
        w.put(i, valueAt(done + i));
      }
    }
    long start = System.nanoTime();
    SafetensorsWriter writer = new SafetensorsWriter().add("embed", x);
    writer.write(file);
    System.out.printf("wrote 2.24 GB in %.1f s%n", (System.nanoTime() - start) / 1e9);
    x.close();
    assertEquals(numel * 4, writer.dataBytes());
    assertEquals(writer.fileSize(), Files.size(file));

    long[] probes = {0, 1, chunk - 1, chunk, (1L << 29) - 1, 1L << 29, (1L << 29) + 1, numel / 2, numel - 1};
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      start = System.nanoTime();
      INDArray y = r.read("embed", DataType.FLOAT);
      System.out.printf("read 2.24 GB fp32 in %.1f s%n", (System.nanoTime() - start) / 1e9);
      for (long i : probes) {
        assertEquals(valueAt(i), y.getFloat(i / COLS, i % COLS), "element " + i);
      }
      y.close();
      start = System.nanoTime();
      INDArray b = r.read("embed", DataType.BFLOAT16);
      System.out.printf("read 2.24 GB fp32 as bf16 in %.1f s%n", (System.nanoTime() - start) / 1e9);
      for (long i : probes) {
        float expected = HalfFloats.bf16BitsToFloat(HalfFloats.floatToBf16Bits(valueAt(i)));
        assertEquals(expected, b.getFloat(i / COLS, i % COLS), "element " + i);
      }
      b.close();
    }
  }
}
