package io.laketune.train;

import io.laketune.io.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import io.laketune.train.TrainConfig.Payload;

/**
 * The wire form of one chunk of gradients or parameters: fp32 little-endian (4 bytes an element,
 * exact) or bf16 (2 bytes, rounded to nearest even exactly as torch's {@code .to(torch.bfloat16)}).
 * Whatever travels, sums and master weights stay fp32 where the shard lives.
 */
final class ChunkCodec {
  private ChunkCodec() {}

  static byte[] encode(float[] x, int n, Payload p) {
    byte[] out = new byte[n * p.bytes];
    encodeInto(x, n, p, out, 0);
    return out;
  }

  /** Writes x[0, n) into out starting at byte {@code at}. */
  static void encodeInto(float[] x, int n, Payload p, byte[] out, int at) {
    ByteBuffer b = ByteBuffer.wrap(out, at, n * p.bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
    if (p == Payload.FP32) {
      b.asFloatBuffer().put(x, 0, n);
    } else {
      short[] s = new short[n];
      for (int i = 0; i < n; i++) s[i] = HalfFloats.floatToBf16Bits(x[i]);
      b.asShortBuffer().put(s, 0, n);
    }
  }

  /** out[0, n) = the n elements starting at byte {@code at} of {@code bytes}. */
  static void decode(byte[] bytes, int at, int n, Payload p, float[] out) {
    ByteBuffer b = ByteBuffer.wrap(bytes, at, n * p.bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
    if (p == Payload.FP32) {
      b.asFloatBuffer().get(out, 0, n);
    } else {
      short[] s = new short[n];
      b.asShortBuffer().get(s, 0, n);
      for (int i = 0; i < n; i++) out[i] = HalfFloats.bf16BitsToFloat(s[i]);
    }
  }

  /** acc[0, n) += the decoded elements, one fp32 add each (the order of calls fixes the rounding). */
  static void addDecoded(byte[] bytes, int at, int n, Payload p, float[] acc, float[] scratch) {
    decode(bytes, at, n, p, scratch);
    for (int i = 0; i < n; i++) acc[i] += scratch[i];
  }

  /** bf16 rounding of x[0, n) in place: what a worker sees of parameters sent as bf16. */
  static short[] toBf16(float[] x, int n) {
    short[] s = new short[n];
    for (int i = 0; i < n; i++) s[i] = HalfFloats.floatToBf16Bits(x[i]);
    return s;
  }

  static void fromBf16(short[] s, float[] out) {
    for (int i = 0; i < s.length; i++) out[i] = HalfFloats.bf16BitsToFloat(s[i]);
  }
}
