package io.laketune.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** float32 ↔ bf16/f16 against hand-computed bits and against torch (half_golden.tsv, from half_golden.py). */
class HalfFloatsTest {

  private static int bf16(float f) {
    return HalfFloats.floatToBf16Bits(f) & 0xFFFF;
  }

  private static int f16(float f) {
    return HalfFloats.floatToF16Bits(f) & 0xFFFF;
  }

  @Test
  void bf16HandComputed() {
    assertEquals(0x3F80, bf16(1.0f));
    assertEquals(0xC020, bf16(-2.5f));
    assertEquals(0x8000, bf16(-0.0f));
    // 65504 = 0x477FE000: the dropped half 0xE000 is above the tie, so it rounds up to 65536.
    assertEquals(0x4780, bf16(65504f));
    // 1e-8 = 0x322BCC77 rounds up to 0x322C.
    assertEquals(0x322C, bf16(1e-8f));
    // A float32 subnormal (0x000116C2) keeps bf16's subnormal 0x0001.
    assertEquals(0x0001, bf16(Float.intBitsToFloat(0x000116C2)));
    // Ties go to even: 1.00390625 = 0x3F808000 stays at 0x3F80; 1.01171875 = 0x3F818000 goes to 0x3F82.
    assertEquals(0x3F80, bf16(1.00390625f));
    assertEquals(0x3F82, bf16(1.01171875f));
    assertEquals(0x7F80, bf16(Float.POSITIVE_INFINITY));
    assertEquals(0xFF80, bf16(Float.NEGATIVE_INFINITY));
    assertEquals(0x7F80, bf16(Float.MAX_VALUE));
    assertEquals(0xFFFF, bf16(Float.NaN));
    assertEquals(1.0f, HalfFloats.bf16BitsToFloat((short) 0x3F80));
    assertEquals(-2.5f, HalfFloats.bf16BitsToFloat((short) 0xC020));
  }

  @Test
  void f16HandComputed() {
    assertEquals(0x3C00, f16(1.0f));
    assertEquals(0xC100, f16(-2.5f));
    assertEquals(0x7BFF, f16(65504f));
    assertEquals(0x7BFF, f16(65519.99f));
    assertEquals(0x7C00, f16(65520f)); // the tie above the largest half rounds to even: infinity
    assertEquals(0x0000, f16(1e-8f)); // below half the smallest subnormal (2^-25)
    assertEquals(0x0002, f16(1e-7f)); // 1e-7 / 2^-24 = 1.68 → subnormal 2
    assertEquals(0x0001, f16(0x1.0p-24f));
    assertEquals(0x0000, f16(0x1.0p-25f)); // tie between 0 and 2^-24 → even (0)
    assertEquals(0x0001, f16(Math.nextUp(0x1.0p-25f)));
    assertEquals(0x6800, f16(2049f)); // tie → 2048 (even mantissa)
    assertEquals(0x6802, f16(2051f)); // tie → 2052
    assertEquals(0x7C00, f16(Float.POSITIVE_INFINITY));
    assertEquals(0xFC00, f16(Float.NEGATIVE_INFINITY));
    assertEquals(0x7E00, f16(Float.NaN));
    assertEquals(0x1.0p-24f, HalfFloats.f16BitsToFloat((short) 0x0001));
    assertEquals(65504f, HalfFloats.f16BitsToFloat((short) 0x7BFF));
    assertEquals(0x1.ff8p-15f, HalfFloats.f16BitsToFloat((short) 0x03FF));
    assertTrue(Float.isNaN(HalfFloats.f16BitsToFloat((short) 0x7C01)));
  }

  @Test
  void matchesTorch() throws IOException {
    int checked = 0;
    try (InputStream in = getClass().getResourceAsStream("half_golden.tsv");
        BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        String[] f = line.split("\t");
        long input = Long.parseLong(f[1], 16);
        long expected = Long.parseLong(f[2], 16);
        long actual;
        switch (f[0]) {
          case "f32>bf16":
            actual = bf16(Float.intBitsToFloat((int) input));
            break;
          case "f32>f16":
            actual = f16(Float.intBitsToFloat((int) input));
            break;
          case "f16>f32":
            actual = Float.floatToRawIntBits(HalfFloats.f16BitsToFloat((short) input)) & 0xFFFFFFFFL;
            break;
          default:
            throw new IllegalStateException("unknown kind in half_golden.tsv: " + f[0]);
        }
        assertEquals(expected, actual, line);
        checked++;
      }
    }
    assertEquals(2011, checked);
  }

  /** f16 value from its definition: (-1)^s × 2^(e-15) × 1.m, or 2^-14 × 0.m when e = 0. */
  private static float referenceF16(int h) {
    int e = (h >> 10) & 0x1F;
    int m = h & 0x3FF;
    double magnitude = e == 0 ? Math.scalb(m / 1024.0, -14) : e == 31 ? Double.POSITIVE_INFINITY : Math.scalb(1 + m / 1024.0, e - 15);
    return (float) ((h & 0x8000) != 0 ? -magnitude : magnitude);
  }

  @Test
  void everyHalfSurvivesWideningAndNarrowing() {
    for (int bits = 0; bits < 1 << 16; bits++) {
      final int h = bits;
      float f16 = HalfFloats.f16BitsToFloat((short) h);
      float bf16 = HalfFloats.bf16BitsToFloat((short) h);
      if (Float.isNaN(f16)) {
        assertTrue(Float.isNaN(HalfFloats.f16BitsToFloat(HalfFloats.floatToF16Bits(f16))));
      } else {
        assertEquals(h, f16(f16), () -> Integer.toHexString(h));
        assertEquals(Float.floatToRawIntBits(referenceF16(h)), Float.floatToRawIntBits(f16), () -> Integer.toHexString(h));
      }
      if (!Float.isNaN(bf16)) {
        assertEquals(h, bf16(bf16), () -> Integer.toHexString(h));
      }
    }
  }
}
