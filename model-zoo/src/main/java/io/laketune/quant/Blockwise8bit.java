package io.laketune.quant;

/**
 * 8-bit blockwise quantisation with a sorted code (the dynamic map), as bitsandbytes'
 * quantize_blockwise / dequantize_blockwise run on CUDA (kQuantizeBlockwise General8bit,
 * kDequantizeBlockwise). Double quantisation applies it to the absmax values of a 4-bit tensor, which
 * are few (one per 64 weights), so these loops are plain and sequential.
 *
 * <p>Per block: absmax = max |v|; scale = 1.0f / absmax; q = {@link DynamicMap#quantize}(code, v * scale).
 * A block whose values are all 0 (a tensor with one 4-bit block: its absmax minus their mean) has scale
 * +inf, NaN inputs to the search, and codes 0. Dequantise: code[q] * absmax in float32.
 */
final class Blockwise8bit {
  private Blockwise8bit() {}

  /** Codes for {@code a}; the absmax of each block goes to {@code absmaxOut} (ceil(n / blocksize) entries). */
  static byte[] quantize(float[] a, float[] code, int blocksize, float[] absmaxOut) {
    byte[] q = new byte[a.length];
    for (int o = 0, b = 0; o < a.length; o += blocksize, b++) {
      int end = Math.min(a.length, o + blocksize);
      float m = 0f;
      for (int i = o; i < end; i++) m = Math.max(m, Math.abs(a[i]));
      absmaxOut[b] = m;
      float scale = 1.0f / m;
      for (int i = o; i < end; i++) q[i] = (byte) DynamicMap.quantize(code, a[i] * scale);
    }
    return q;
  }

  /** code[q] * absmax of the block, for every entry of {@code q}. */
  static float[] dequantize(byte[] q, float[] absmax, float[] code, int blocksize) {
    float[] out = new float[q.length];
    for (int i = 0; i < q.length; i++) out[i] = code[q[i] & 0xFF] * absmax[i / blocksize];
    return out;
  }
}
