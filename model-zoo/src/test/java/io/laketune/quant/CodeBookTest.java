package io.laketune.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.laketune.io.SafetensorsReader;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Code books and encoders: get_4bit_type and create_dynamic_map as bitsandbytes computes them (from
 * the fixture), the CUDA dequantisation literals, the table encoder against the literal decision tree
 * (its oracle), and the 8-bit search on code values and midpoints.
 */
class CodeBookTest {

  @Test
  void codeBooksEqualBitsandbytes() throws Exception {
    try (SafetensorsReader r = QuantFixtures.open("dynamic_map")) {
      assertBits(QuantFixtures.floats(r, "nf4"), QuantType.NF4.codebook());
      assertBits(QuantFixtures.floats(r, "fp4"), QuantType.FP4.codebook());
      assertBits(QuantFixtures.floats(r, "code"), DynamicMap.signed());
    }
  }

  @Test
  void fp4CodeBookEqualsTheCudaDequantisationTable() {
    // kernels.cu fp4_dequantization_lut, sign in bit 3 (dDequantizeFP4Tree)
    float[] lut = {0.0f, 0.005208333333f, 0.66666667f, 1.0f, 0.33333333f, 0.5f, 0.16666667f, 0.25f};
    for (int c = 0; c < 16; c++) {
      float sign = 1.0f - 2 * ((c & 0b1000) >> 3);
      assertEquals(Float.floatToRawIntBits(lut[c & 7] * sign), Float.floatToRawIntBits(QuantType.FP4.decode(c)),
          "code " + c);
    }
  }

  @Test
  void treeEdgeSemantics() {
    assertEquals(0, QuantType.NF4.encode(Float.NaN));
    assertEquals(0, QuantType.FP4.encode(Float.NaN));
    assertEquals(7, QuantType.NF4.encode(0f));
    assertEquals(7, QuantType.NF4.encode(-0f));
    assertEquals(0, QuantType.FP4.encode(-0f), "FP4 sign is x < 0, so -0.0 codes as +0");
    assertEquals(8, QuantType.FP4.encode(-Float.MIN_VALUE));
    assertEquals(7, QuantType.NF4.encode(0.03979014977812767f), "on a threshold: the lower code");
    assertEquals(8, QuantType.NF4.encode(Math.nextUp(0.03979014977812767f)));
    for (int c = 0; c < 16; c++) {
      assertEquals(c, QuantType.NF4.encode(QuantType.NF4.decode(c)), "nf4 code value " + c);
      int fp4 = QuantType.FP4.encode(QuantType.FP4.decode(c));
      assertEquals(c == 8 ? 0 : c, fp4, "fp4 code value " + c);
    }
    assertThrows(IllegalArgumentException.class, () -> QuantType.fromBnbName("int4", "quant_type"));
  }

  @Test
  void tableEncoderAgreesWithTheTreeEverywhere() {
    List<Float> probes = new ArrayList<>();
    for (QuantType t : QuantType.values()) {
      for (int c = 0; c < 16; c++) probes.add(t.decode(c));
    }
    for (float threshold : new float[] {
        0.03979014977812767f, 0.3893125355243683f, 0.6427869200706482f, 0.8614784181118011f,
        0.5016634166240692f, 0.2035212516784668f, 0.2920137718319893f, 0.1202552504837513f,
        -0.33967943489551544f, -0.13791173323988914f, -0.045525018125772476f, -0.23460740596055984f,
        -0.6106329262256622f, -0.4599952697753906f, -0.8480964004993439f,
        0.29166667f, 0.583333f, 0.8333333f, 0.4166667f, 0.0859375f, 0.20833333f, 0.00260417f,
        -0.29166667f, -0.583333f, -0.8333333f, -0.4166667f, -0.0859375f, -0.20833333f, -0.00260417f,
        0f, -0f, 1f, -1f}) {
      float x = threshold;
      for (int k = 0; k < 8; k++) x = Math.nextDown(x);
      for (int k = 0; k < 17; k++, x = Math.nextUp(x)) probes.add(x);
    }
    for (int b = 0; b <= CodeTable.BUCKETS; b++) {
      float edge = -1f + 2f * b / CodeTable.BUCKETS;
      probes.add(Math.nextDown(edge));
      probes.add(edge);
      probes.add(Math.nextUp(edge));
    }
    for (QuantType t : QuantType.values()) {
      CodeTable table = CodeTable.of(t);
      for (float x : probes) assertEquals(t.encode(x), table.encode(x), t + " at " + x);
      // every 61st float bit pattern in [-1.00001, 1.00001], then random values
      for (int bits = 0; bits <= Float.floatToRawIntBits(1.00001f); bits += 61) {
        float x = Float.intBitsToFloat(bits);
        if (t.encode(x) != table.encode(x) || t.encode(-x) != table.encode(-x)) {
          assertEquals(t.encode(x), table.encode(x), t + " at " + x);
          assertEquals(t.encode(-x), table.encode(-x), t + " at " + -x);
        }
      }
      SplittableRandom rnd = new SplittableRandom(11);
      for (int i = 0; i < 2_000_000; i++) {
        float x = (float) (rnd.nextDouble() * 2.00002 - 1.00001);
        if (t.encode(x) != table.encode(x)) assertEquals(t.encode(x), table.encode(x), t + " at " + x);
      }
    }
  }

  @Test
  void dynamicSearchPicksTheNearestCode() {
    float[] code = DynamicMap.signed();
    for (int i = 0; i < 256; i++) assertEquals(i, DynamicMap.quantize(code, code[i]), "code value " + i);
    assertEquals(0, DynamicMap.quantize(code, Float.NaN));
    assertEquals(0, DynamicMap.quantize(code, -1f));
    assertEquals(255, DynamicMap.quantize(code, 1f));
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 0; i < 100_000; i++) {
      float x = (float) (rnd.nextDouble() * 2 - 1);
      int q = DynamicMap.quantize(code, x);
      float err = Math.abs(code[q] - x);
      for (int j = 0; j < 256; j++) {
        if (Math.abs(code[j] - x) < err) {
          throw new AssertionError(x + " coded " + q + " (" + code[q] + ") but " + code[j] + " is nearer");
        }
      }
    }
  }

  private static void assertBits(float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length);
    int[] e = new int[expected.length];
    int[] a = new int[actual.length];
    for (int i = 0; i < e.length; i++) {
      e[i] = Float.floatToRawIntBits(expected[i]);
      a[i] = Float.floatToRawIntBits(actual[i]);
    }
    assertArrayEquals(e, a);
  }
}
