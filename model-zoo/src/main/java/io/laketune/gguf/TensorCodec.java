package io.laketune.gguf;

import io.laketune.io.HalfFloats;
import java.nio.ByteBuffer;

/** Float32 values to and from the bytes of each {@link GgmlType} (little endian, whole rows). */
final class TensorCodec {
  private TensorCodec() {}

  /**
   * Encodes {@code n} values of {@code src} (whole rows of {@code cols}) into {@code dst}. For Q8_0
   * the rows are a multiple of 32 long, so blocks never straddle two rows.
   */
  static void encode(GgmlType type, float[] src, int n, int cols, ByteBuffer dst) {
    switch (type) {
      case F32 -> {
        for (int i = 0; i < n; i++) dst.putFloat(src[i]);
      }
      case F16 -> {
        for (int i = 0; i < n; i++) dst.putShort(HalfFloats.floatToF16Bits(src[i]));
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) dst.putShort(floatToBf16(src[i]));
      }
      case Q8_0 -> {
        if (!type.fitsRow(cols)) throw new IllegalArgumentException("rows of " + cols + " do not fit Q8_0 blocks");
        Q8_0.quantize(src, 0, n, dst);
      }
    }
  }

  /** Decodes {@code n} values (whole rows) from {@code src} into {@code dst}. */
  static void decode(GgmlType type, ByteBuffer src, int n, float[] dst) {
    switch (type) {
      case F32 -> {
        for (int i = 0; i < n; i++) dst[i] = src.getFloat();
      }
      case F16 -> {
        for (int i = 0; i < n; i++) dst[i] = HalfFloats.f16BitsToFloat(src.getShort());
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) dst[i] = HalfFloats.bf16BitsToFloat(src.getShort());
      }
      case Q8_0 -> Q8_0.dequantize(src, n, dst, 0);
    }
  }

  /**
   * float32 → bf16 as ggml's ggml_compute_fp32_to_bf16: round to nearest even, and a NaN keeps its
   * top bits with the quiet bit forced (0x0040 of the bf16), so it stays a NaN after truncation.
   */
  static short floatToBf16(float value) {
    int u = Float.floatToRawIntBits(value);
    if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
    return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
  }
}
