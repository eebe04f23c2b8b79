package io.laketune.gguf;

import io.laketune.io.HalfFloats;
import java.nio.ByteBuffer;

/**
 * ggml's Q8_0 block quantisation, bit for bit as ggml's reference quantize_row_q8_0 (and gguf-py's
 * Q8_0) computes it: each block of 32 values x stores d = max|x| / 127 as an f16 (round to nearest
 * even) and q_j = roundf(x_j * (1/d)) as int8 (round half away from zero), with q = 0 when the block
 * is all zeros. All arithmetic is float32, as in the C code. Dequantised: x_j ≈ f16(d) * q_j.
 */
public final class Q8_0 {
  /** Elements per block. */
  public static final int BLOCK = 32;
  /** Bytes per block: an f16 scale and 32 int8. */
  public static final int BLOCK_BYTES = 34;

  private Q8_0() {}

  /**
   * Quantises {@code n} values (a multiple of 32) starting at {@code src[offset]} into
   * {@code dst} (little endian), advancing its position by n / 32 * 34 bytes.
   */
  public static void quantize(float[] src, int offset, int n, ByteBuffer dst) {
    if (n % BLOCK != 0) throw new IllegalArgumentException("Q8_0 needs a multiple of 32 values, got " + n);
    for (int b = offset; b < offset + n; b += BLOCK) {
      float amax = 0f;
      for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(src[b + j]));
      float d = amax / 127f;
      float id = d != 0f ? 1f / d : 0f;
      dst.putShort(HalfFloats.floatToF16Bits(d));
      for (int j = 0; j < BLOCK; j++) dst.put((byte) roundHalfAway(src[b + j] * id));
    }
  }

  /** Reads {@code n} values (a multiple of 32) from {@code src} into {@code dst[offset..]}. */
  public static void dequantize(ByteBuffer src, int n, float[] dst, int offset) {
    if (n % BLOCK != 0) throw new IllegalArgumentException("Q8_0 needs a multiple of 32 values, got " + n);
    for (int b = offset; b < offset + n; b += BLOCK) {
      float d = HalfFloats.f16BitsToFloat(src.getShort());
      for (int j = 0; j < BLOCK; j++) dst[b + j] = src.get() * d;
    }
  }

  /** C's roundf: the nearest integer, halves away from zero (exact: |v| + 0.5 is exact in double). */
  static int roundHalfAway(float v) {
    double r = Math.floor(Math.abs((double) v) + 0.5);
    return (int) (v < 0 ? -r : r);
  }
}
