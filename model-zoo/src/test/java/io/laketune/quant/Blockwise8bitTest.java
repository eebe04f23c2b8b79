package io.laketune.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.laketune.io.SafetensorsReader;
import org.junit.jupiter.api.Test;

/**
 * 8-bit blockwise quantisation with the dynamic map (blocksize 256, 1300 values: every code value,
 * every float midpoint of adjacent codes ±1 ulp, N(0,1) values, a 20-value tail block) is bit-exact
 * with the fixture's re-statement of kQuantizeBlockwise / dQuantize.
 */
class Blockwise8bitTest {

  @Test
  void matchesTheCudaKernelRestatement() throws Exception {
    try (SafetensorsReader r = QuantFixtures.open("blockwise8")) {
      float[] x = QuantFixtures.floats(r, "input");
      float[] absmax = new float[(x.length + 255) / 256];
      byte[] q = Blockwise8bit.quantize(x, DynamicMap.signed(), 256, absmax);
      assertArrayEquals(r.readBytes("q"), q);
      assertArrayEquals(QuantFixtures.floats(r, "absmax"), absmax);
      float[] expected = QuantFixtures.floats(r, "dequant");
      float[] got = Blockwise8bit.dequantize(q, absmax, DynamicMap.signed(), 256);
      for (int i = 0; i < got.length; i++) {
        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(got[i]), "element " + i);
      }
    }
  }
}
