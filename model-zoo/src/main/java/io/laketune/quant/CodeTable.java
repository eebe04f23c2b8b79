package io.laketune.quant;

/**
 * A branch-light exact replacement for {@link QuantType#encode} on finite values in about [-1, 1].
 *
 * <p>[-1, 1] is cut into {@value #BUCKETS} buckets. For each bucket the table holds the one point
 * where the code changes within the bucket and its neighbours ({@code split}), the code at or below
 * it ({@code low}) and above it ({@code high}); so {@code code(x) = x > split ? high : low}. Every
 * pair of adjacent decision points of NF4 and FP4 is at least 0.0026 apart, more than three buckets
 * (0.0015), so no widened bucket holds two of them; and widening by a bucket each side absorbs the
 * rounding in the index computation. Splits are found by binary search over the float values with
 * the tree itself, so boundary semantics (strict {@code >}, FP4's {@code x < 0} sign) carry over
 * exactly. Values slightly beyond ±1 (a rounded scale) fall into the end buckets, which extend past it.
 *
 * <p>Callers must route NaN and ±Inf to {@link QuantType#encode}; the tests compare both encoders on
 * every threshold ± a few ulps and on tens of millions of values.
 */
final class CodeTable {
  static final int BUCKETS = 4096;
  private static final float HALF = BUCKETS / 2f;

  private static final CodeTable NF4 = new CodeTable(QuantType.NF4);
  private static final CodeTable FP4 = new CodeTable(QuantType.FP4);

  private final float[] split = new float[BUCKETS];
  private final byte[] low = new byte[BUCKETS];
  private final byte[] high = new byte[BUCKETS];

  static CodeTable of(QuantType type) {
    return type == QuantType.NF4 ? NF4 : FP4;
  }

  private CodeTable(QuantType type) {
    float width = 2f / BUCKETS;
    for (int b = 0; b < BUCKETS; b++) {
      float lo = b == 0 ? -2f : -1f + (b - 1) * width;
      float hi = b == BUCKETS - 1 ? 2f : -1f + (b + 2) * width;
      int codeLo = type.encode(lo);
      int codeHi = type.encode(hi);
      requireSingleStep(type, lo, hi, codeLo, codeHi);
      low[b] = (byte) codeLo;
      high[b] = (byte) codeHi;
      split[b] = codeLo == codeHi ? Float.MAX_VALUE : lastWithCode(type, lo, hi, codeLo);
    }
  }

  /** The code of {@code x}; {@code x} must be finite. */
  int encode(float x) {
    int b = (int) ((x + 1f) * HALF);
    b = Math.max(0, Math.min(BUCKETS - 1, b));
    return x > split[b] ? high[b] : low[b];
  }

  /** The largest float in [lo, hi] whose code is {@code codeLo}; the code changes once in the range. */
  private static float lastWithCode(QuantType type, float lo, float hi, int codeLo) {
    long a = sortable(lo);
    long z = sortable(hi);
    while (z - a > 1) {
      long mid = (a + z) >> 1;
      if (type.encode(unsortable((int) mid)) == codeLo) a = mid;
      else z = mid;
    }
    float s = unsortable((int) a);
    if (Float.floatToRawIntBits(s) == Float.floatToRawIntBits(-0f)) {
      throw new IllegalStateException(type + " changes code between -0.0 and +0.0; x > split cannot tell them apart");
    }
    return s;
  }

  /** Guards the single-step assumption by sampling the range densely. */
  private static void requireSingleStep(QuantType type, float lo, float hi, int codeLo, int codeHi) {
    int changes = 0;
    int prev = codeLo;
    for (int i = 1; i <= 256; i++) {
      int c = type.encode(lo + (hi - lo) * i / 256f);
      if (c != prev) changes++;
      prev = c;
    }
    if (changes > 1 || prev != codeHi) {
      throw new IllegalStateException(type + " has more than one decision in [" + lo + ", " + hi + "]");
    }
  }

  /** Maps float bit patterns to ints that order like the floats (-0.0 just below +0.0). */
  private static int sortable(float f) {
    int bits = Float.floatToRawIntBits(f);
    return bits >= 0 ? bits : bits ^ 0x7fffffff;
  }

  private static float unsortable(int key) {
    return Float.intBitsToFloat(key >= 0 ? key : key ^ 0x7fffffff);
  }
}
