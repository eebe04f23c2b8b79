package io.laketune.quant;

import io.laketune.io.DType;
import io.laketune.io.HalfFloats;

/**
 * The 4-bit kernels on one chunk of a flattened tensor, as bitsandbytes' CUDA kernels compute them
 * (csrc/kernels.cu kQuantizeBlockwise with NF4/FP4, kDequantizeBlockwise).
 *
 * <p>Quantise, per block of {@code blocksize} values: absmax = max |v| (float32); scale = 1.0f / absmax
 * (correctly rounded; bnb's --use_fast_math reciprocal may differ by an ulp); code = encode(v * scale).
 * Two codes per byte, the even element in the high nibble. The kernel pads a partial block with zeros
 * and codes them too, so for an odd element count the last byte's low nibble is the code of 0 * scale
 * (NF4 7, FP4 0). An all-zero block has absmax 0, scale +inf and 0 * inf = NaN everywhere, which both
 * trees code 0 (NF4: -1.0, so it dequantises to -0.0; FP4: +0.0).
 *
 * <p>Dequantise: value = code_value * absmax in float32, rounded to the tensor's dtype (bnb writes
 * bf16/f16 outputs for bf16/f16 weights).
 *
 * <p>A chunk starts at element {@code first}, a multiple of the block size, so chunks write disjoint
 * bytes and absmax entries and run in parallel.
 */
final class Blockwise4bit {
  private Blockwise4bit() {}

  /**
   * Quantises {@code v[0, len)}, elements [first, first + len) of the tensor, into {@code packed}
   * (byte first / 2 on) and {@code absmax} (entry first / blocksize on). Non-finite values are an error.
   */
  static void quantize(float[] v, int len, long first, QuantType type, int blocksize, byte[] packed,
      float[] absmax) {
    CodeTable table = CodeTable.of(type);
    int p = (int) (first >>> 1);
    int blockIndex = (int) (first / blocksize);
    for (int o = 0; o < len; o += blocksize, blockIndex++) {
      int bl = Math.min(blocksize, len - o);
      float m = 0f;
      for (int i = o; i < o + bl; i++) {
        float a = Math.abs(v[i]);
        if (!(a <= Float.MAX_VALUE)) throw nonFinite(first + i, v[i]);
        if (a > m) m = a;
      }
      absmax[blockIndex] = m;
      float scale = 1.0f / m;
      int end = o + (bl & ~1);
      if (Float.isInfinite(scale)) {
        for (int i = o; i < end; i += 2) {
          packed[p++] = (byte) (type.encode(v[i] * scale) << 4 | type.encode(v[i + 1] * scale));
        }
        if ((bl & 1) != 0) packed[p++] = (byte) (type.encode(v[end] * scale) << 4 | type.encode(0f * scale));
      } else {
        for (int i = o; i < end; i += 2) {
          packed[p++] = (byte) (table.encode(v[i] * scale) << 4 | table.encode(v[i + 1] * scale));
        }
        if ((bl & 1) != 0) packed[p++] = (byte) (table.encode(v[end] * scale) << 4 | table.encode(0f));
      }
    }
  }

  /**
   * Writes elements [first, first + len) of the dequantised tensor into {@code out[0, len)}, from
   * {@code packed} and the per-block {@code absmax} (already expanded when double-quantised).
   */
  static void dequantize(byte[] packed, long first, int len, float[] absmax, QuantType type, int blocksize,
      DType dtype, float[] out) {
    float[] code = type.codebookShared();
    float[] scaled = new float[16];
    int p = (int) (first >>> 1);
    int blockIndex = (int) (first / blocksize);
    for (int o = 0; o < len; o += blocksize, blockIndex++) {
      int bl = Math.min(blocksize, len - o);
      float s = absmax[blockIndex];
      for (int c = 0; c < 16; c++) scaled[c] = round(code[c] * s, dtype);
      int end = o + (bl & ~1);
      for (int i = o; i < end; i += 2) {
        int q = packed[p++] & 0xFF;
        out[i] = scaled[q >>> 4];
        out[i + 1] = scaled[q & 0x0F];
      }
      if ((bl & 1) != 0) out[end] = scaled[(packed[p++] & 0xFF) >>> 4];
    }
  }

  /** {@code v} rounded to nearest-even in {@code dtype} (F32, BF16 or F16), as a float. */
  static float round(float v, DType dtype) {
    return switch (dtype) {
      case BF16 -> Float.intBitsToFloat(HalfFloats.floatToBf16Bits(v) << 16);
      case F16 -> HalfFloats.f16BitsToFloat(HalfFloats.floatToF16Bits(v));
      default -> v;
    };
  }

  private static IllegalArgumentException nonFinite(long index, float value) {
    return new IllegalArgumentException("element " + index + " is " + value
        + "; only finite weights can be quantised (the checkpoint is corrupt)");
  }
}
