package io.laketune.io;

/**
 * Bit-exact conversions between float32 and the two 16-bit float formats, as torch performs them on CPU.
 *
 * <p>Java 17 has no half-precision API, so these are written out. Values are passed as raw bits in a
 * {@code short} (bf16: 1 sign, 8 exponent, 7 mantissa bits; f16: 1 sign, 5 exponent, 10 mantissa bits).
 * Narrowing rounds to nearest, ties to even, overflows to infinity and keeps subnormals; widening is exact.
 * The golden values in the test resources (half_golden.py) were produced by torch 1.13.
 */
public final class HalfFloats {

  /** f16 bits (0..65535) → float32, filled once; widening a tensor is then one lookup per element. */
  private static final float[] F16_TO_FLOAT = buildF16Table();

  private HalfFloats() {}

  /**
   * float32 → bf16 bits, rounding to nearest even like {@code x.to(torch.bfloat16)}.
   *
   * <p>Every NaN becomes 0xFFFF: torch's vectorised CPU conversion writes that for NaN (its scalar
   * constructor would write 0x7FC0); both are quiet NaNs, and 0xFFFF is what the fixtures hold.
   */
  public static short floatToBf16Bits(float value) {
    if (value != value) {
      return (short) 0xFFFF;
    }
    int bits = Float.floatToRawIntBits(value);
    int lsb = (bits >>> 16) & 1;
    return (short) ((bits + 0x7FFF + lsb) >>> 16);
  }

  /** bf16 bits → float32 (exact: bf16 is the top half of a float32). */
  public static float bf16BitsToFloat(short bits) {
    return Float.intBitsToFloat(bits << 16);
  }

  /**
   * float32 → f16 bits like {@code x.to(torch.float16)}: the FP16 library's branch-free algorithm that
   * c10::Half uses, which lets the float adder do the rounding (Java float arithmetic is IEEE
   * round-to-nearest-even since Java 17). NaN becomes sign | 0x7E00.
   */
  public static short floatToF16Bits(float value) {
    final float scaleToInf = 0x1.0p+112f;
    final float scaleToZero = 0x1.0p-110f;
    float base = (Math.abs(value) * scaleToInf) * scaleToZero;
    int w = Float.floatToRawIntBits(value);
    int shl1W = w + w;
    int sign = w & 0x80000000;
    int bias = shl1W & 0xFF000000;
    if (Integer.compareUnsigned(bias, 0x71000000) < 0) {
      bias = 0x71000000;
    }
    base = Float.intBitsToFloat((bias >>> 1) + 0x07800000) + base;
    int bits = Float.floatToRawIntBits(base);
    int expBits = (bits >>> 13) & 0x00007C00;
    int mantissaBits = bits & 0x00000FFF;
    int nonSign = expBits + mantissaBits;
    boolean nan = Integer.compareUnsigned(shl1W, 0xFF000000) > 0;
    return (short) ((sign >>> 16) | (nan ? 0x7E00 : nonSign));
  }

  /** f16 bits → float32 (exact; NaN payloads are kept and made quiet, as the F16C instruction does). */
  public static float f16BitsToFloat(short bits) {
    return F16_TO_FLOAT[bits & 0xFFFF];
  }

  private static float[] buildF16Table() {
    float[] table = new float[1 << 16];
    for (int h = 0; h < table.length; h++) {
      table[h] = widenF16(h);
    }
    return table;
  }

  private static float widenF16(int h) {
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1F;
    int mantissa = h & 0x3FF;
    if (exponent == 0x1F) {
      int quiet = mantissa == 0 ? 0 : 0x00400000;
      return Float.intBitsToFloat(sign | 0x7F800000 | quiet | (mantissa << 13));
    }
    if (exponent == 0) {
      // Zero or subnormal: mantissa × 2^-24 is exact in float32.
      float magnitude = mantissa * 0x1.0p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
}
