package io.laketune.io;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;

/**
 * Converts a chunk of elements from one dtype to another between two byte buffers.
 *
 * <p>Each buffer carries its own byte order (files are little endian, ND4J memory is native order).
 * Same-type copies are bulk byte copies; bf16/f16 ↔ f32 have direct loops because they dominate model
 * loading and saving; everything else goes through a scratch array, as double for float types (exact for
 * every float type here) and as long for integer-to-integer conversions (exact for 64-bit values).
 * Float → integer truncates toward zero and → BOOL is "not zero", like a C cast in torch.
 * Not thread-safe: the scratch arrays are reused across calls.
 */
final class ElementConverter {

  private final int maxElements;
  private double[] doubles;
  private long[] longs;

  /** A converter for chunks of at most {@code maxElements} elements; scratch is allocated on first use. */
  ElementConverter(int maxElements) {
    this.maxElements = maxElements;
  }

  /**
   * Converts {@code n} elements starting at each buffer's position and advances both positions by the
   * bytes consumed and produced. Raw-only dtypes may only be copied to themselves.
   */
  void convert(DType from, ByteBuffer src, DType to, ByteBuffer dst, int n) {
    if (n > maxElements) {
      throw new IllegalArgumentException("chunk of " + n + " elements exceeds " + maxElements);
    }
    if (from == to && (from.size() == 1 || src.order() == dst.order())) {
      ByteBuffer bytes = src.duplicate();
      bytes.limit(bytes.position() + n * from.size());
      dst.put(bytes);
      src.position(bytes.limit());
      return;
    }
    if (from.isRawOnly() || to.isRawOnly()) {
      throw new IllegalArgumentException("cannot convert " + from + " to " + to + "; copy it as raw bytes.");
    }
    if (from == DType.BF16 && to == DType.F32) {
      bf16ToF32(src.asShortBuffer(), dst.asIntBuffer(), n);
    } else if (from == DType.F16 && to == DType.F32) {
      f16ToF32(src.asShortBuffer(), dst.asFloatBuffer(), n);
    } else if (from == DType.F32 && to == DType.BF16) {
      f32ToBf16(src.asFloatBuffer(), dst.asShortBuffer(), n);
    } else if (from == DType.F32 && to == DType.F16) {
      f32ToF16(src.asFloatBuffer(), dst.asShortBuffer(), n);
    } else if (from.kind() == DType.Kind.INTEGER && to.kind() == DType.Kind.INTEGER) {
      allocateScratch();
      decodeLongs(from, src, n);
      encodeLongs(to, dst, n);
    } else {
      allocateScratch();
      decodeDoubles(from, src, n);
      encodeDoubles(to, dst, n);
    }
    src.position(src.position() + n * from.size());
    dst.position(dst.position() + n * to.size());
  }

  private void allocateScratch() {
    if (doubles == null) {
      doubles = new double[maxElements];
      longs = new long[maxElements];
    }
  }

  private static void bf16ToF32(ShortBuffer in, IntBuffer out, int n) {
    for (int i = 0; i < n; i++) {
      out.put(i, in.get(i) << 16);
    }
  }

  private static void f16ToF32(ShortBuffer in, FloatBuffer out, int n) {
    for (int i = 0; i < n; i++) {
      out.put(i, HalfFloats.f16BitsToFloat(in.get(i)));
    }
  }

  private static void f32ToBf16(FloatBuffer in, ShortBuffer out, int n) {
    for (int i = 0; i < n; i++) {
      out.put(i, HalfFloats.floatToBf16Bits(in.get(i)));
    }
  }

  private static void f32ToF16(FloatBuffer in, ShortBuffer out, int n) {
    for (int i = 0; i < n; i++) {
      out.put(i, HalfFloats.floatToF16Bits(in.get(i)));
    }
  }

  private void decodeDoubles(DType from, ByteBuffer src, int n) {
    double[] d = doubles;
    switch (from) {
      case F64:
        src.asDoubleBuffer().get(d, 0, n);
        break;
      case F32: {
        FloatBuffer in = src.asFloatBuffer();
        for (int i = 0; i < n; i++) {
          d[i] = in.get(i);
        }
        break;
      }
      case F16: {
        ShortBuffer in = src.asShortBuffer();
        for (int i = 0; i < n; i++) {
          d[i] = HalfFloats.f16BitsToFloat(in.get(i));
        }
        break;
      }
      case BF16: {
        ShortBuffer in = src.asShortBuffer();
        for (int i = 0; i < n; i++) {
          d[i] = HalfFloats.bf16BitsToFloat(in.get(i));
        }
        break;
      }
      case U64: {
        decodeLongs(from, src, n);
        for (int i = 0; i < n; i++) {
          long v = longs[i];
          d[i] = v >= 0 ? v : ((v >>> 1) | (v & 1)) * 2.0;
        }
        break;
      }
      default:
        decodeLongs(from, src, n);
        for (int i = 0; i < n; i++) {
          d[i] = longs[i];
        }
    }
  }

  private void encodeDoubles(DType to, ByteBuffer dst, int n) {
    double[] d = doubles;
    switch (to) {
      case F64:
        dst.asDoubleBuffer().put(d, 0, n);
        break;
      case F32: {
        FloatBuffer out = dst.asFloatBuffer();
        for (int i = 0; i < n; i++) {
          out.put(i, (float) d[i]);
        }
        break;
      }
      case F16: {
        ShortBuffer out = dst.asShortBuffer();
        for (int i = 0; i < n; i++) {
          out.put(i, HalfFloats.floatToF16Bits((float) d[i]));
        }
        break;
      }
      case BF16: {
        ShortBuffer out = dst.asShortBuffer();
        for (int i = 0; i < n; i++) {
          out.put(i, HalfFloats.floatToBf16Bits((float) d[i]));
        }
        break;
      }
      case BOOL:
        for (int i = 0; i < n; i++) {
          longs[i] = d[i] != 0 ? 1 : 0;
        }
        encodeLongs(to, dst, n);
        break;
      default:
        for (int i = 0; i < n; i++) {
          longs[i] = (long) d[i];
        }
        encodeLongs(to, dst, n);
    }
  }

  private void decodeLongs(DType from, ByteBuffer src, int n) {
    long[] l = longs;
    switch (from) {
      case I64:
      case U64:
        src.asLongBuffer().get(l, 0, n);
        break;
      case I32: {
        IntBuffer in = src.asIntBuffer();
        for (int i = 0; i < n; i++) {
          l[i] = in.get(i);
        }
        break;
      }
      case U32: {
        IntBuffer in = src.asIntBuffer();
        for (int i = 0; i < n; i++) {
          l[i] = in.get(i) & 0xFFFFFFFFL;
        }
        break;
      }
      case I16: {
        ShortBuffer in = src.asShortBuffer();
        for (int i = 0; i < n; i++) {
          l[i] = in.get(i);
        }
        break;
      }
      case U16: {
        ShortBuffer in = src.asShortBuffer();
        for (int i = 0; i < n; i++) {
          l[i] = in.get(i) & 0xFFFF;
        }
        break;
      }
      case I8: {
        int p = src.position();
        for (int i = 0; i < n; i++) {
          l[i] = src.get(p + i);
        }
        break;
      }
      case U8: {
        int p = src.position();
        for (int i = 0; i < n; i++) {
          l[i] = src.get(p + i) & 0xFF;
        }
        break;
      }
      case BOOL: {
        int p = src.position();
        for (int i = 0; i < n; i++) {
          l[i] = src.get(p + i) != 0 ? 1 : 0;
        }
        break;
      }
      default:
        decodeDoubles(from, src, n);
        for (int i = 0; i < n; i++) {
          l[i] = (long) doubles[i];
        }
    }
  }

  private void encodeLongs(DType to, ByteBuffer dst, int n) {
    long[] l = longs;
    switch (to) {
      case I64:
      case U64:
        dst.asLongBuffer().put(l, 0, n);
        break;
      case I32:
      case U32: {
        IntBuffer out = dst.asIntBuffer();
        for (int i = 0; i < n; i++) {
          out.put(i, (int) l[i]);
        }
        break;
      }
      case I16:
      case U16: {
        ShortBuffer out = dst.asShortBuffer();
        for (int i = 0; i < n; i++) {
          out.put(i, (short) l[i]);
        }
        break;
      }
      case I8:
      case U8: {
        int p = dst.position();
        for (int i = 0; i < n; i++) {
          dst.put(p + i, (byte) l[i]);
        }
        break;
      }
      case BOOL: {
        int p = dst.position();
        for (int i = 0; i < n; i++) {
          dst.put(p + i, (byte) (l[i] != 0 ? 1 : 0));
        }
        break;
      }
      default:
        throw new IllegalStateException("not an integer dtype: " + to);
    }
  }
}
