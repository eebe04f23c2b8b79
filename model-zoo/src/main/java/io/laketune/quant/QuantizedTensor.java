package io.laketune.quant;

import io.laketune.io.DType;
import io.laketune.nn.PackedTensor;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tensor quantised to 4 bits the way bitsandbytes' quantize_4bit does it (the same bytes), held in
 * the pieces of a bnb QuantState.
 *
 * <p>For n elements flattened row-major and blocks of B (64 by default): {@code packed} holds
 * ceil(n / 2) bytes, two codes each (even element in the high nibble); one float32 absmax per block.
 * With double quantisation (bnb {@code compress_statistics=True}) the absmax values are stored as
 * 8-bit codes of (absmax - offset) in blocks of 256, with one float32 {@code nested_absmax} per 256
 * blocks, the float32 {@code offset} (their mean) and the 256-entry dynamic code; then absmax =
 * code[q] * nested_absmax + offset, each step in float32. Resident bytes per weight: 0.5 + 4/B, or
 * with double quantisation 0.5 + 1/B + 4/(256 B).
 *
 * <p>The offset is bnb's {@code absmax.mean()}, computed as the float64 sum in index order divided by
 * the count and rounded once to float32. torch's float32 mean can differ in the last bit, and differs
 * between devices; a checkpoint's stored offset is always used as it is.
 *
 * <p>{@code dtype} is the weight's type before quantisation (bnb's QuantState.dtype); dequantised values
 * are rounded to it, as bnb's dequantize_4bit returns that type.
 */
public final class QuantizedTensor implements PackedTensor {
  /** Elements per parallel task: large enough to amortise scheduling, small enough to balance. */
  static final int CHUNK_ELEMENTS = 1 << 16;
  /** The block size of the nested (absmax) quantisation quantize_4bit uses. */
  public static final int NESTED_BLOCKSIZE = 256;

  private static final ThreadLocal<float[]> CHUNK = ThreadLocal.withInitial(() -> new float[CHUNK_ELEMENTS]);

  private final QuantType type;
  private final long[] shape;
  private final long numel;
  private final int blocksize;
  private final DType dtype;
  private final byte[] packed;
  private final float[] absmax;
  private final byte[] qabsmax;
  private final float[] nestedAbsmax;
  private final float[] nestedCode;
  private final int nestedBlocksize;
  private final float offset;

  private QuantizedTensor(QuantType type, long[] shape, int blocksize, DType dtype, byte[] packed,
      float[] absmax, byte[] qabsmax, float[] nestedAbsmax, float[] nestedCode, int nestedBlocksize,
      float offset) {
    this.type = type;
    this.shape = shape.clone();
    this.numel = numel(shape);
    this.blocksize = blocksize;
    this.dtype = dtype;
    this.packed = packed;
    this.absmax = absmax;
    this.qabsmax = qabsmax;
    this.nestedAbsmax = nestedAbsmax;
    this.nestedCode = nestedCode;
    this.nestedBlocksize = nestedBlocksize;
    this.offset = offset;
    requireBlocksize(blocksize, 32, "blocksize");
    if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
      throw new IllegalArgumentException("dtype is " + dtype + "; 4-bit tensors come from float32, bfloat16 or"
          + " float16 weights");
    }
    long blocks = blocks(numel, blocksize);
    requireLength("packed weight bytes", packed.length, (numel + 1) / 2);
    if (qabsmax == null) {
      requireLength("absmax", absmax.length, blocks);
    } else {
      requireBlocksize(nestedBlocksize, 64, "nested_blocksize");
      requireLength("absmax (8-bit codes)", qabsmax.length, blocks);
      requireLength("nested_absmax", nestedAbsmax.length, blocks(blocks, nestedBlocksize));
      requireLength("nested_quant_map", nestedCode.length, 256);
    }
  }

  /** A tensor with float32 absmax per block, e.g. read from a checkpoint. Arrays are kept, not copied. */
  public static QuantizedTensor of(QuantType type, long[] shape, int blocksize, DType dtype, byte[] packed,
      float[] absmax) {
    return new QuantizedTensor(type, shape, blocksize, dtype, packed, absmax, null, null, null, 0, 0f);
  }

  /** A double-quantised tensor, e.g. read from a checkpoint. Arrays are kept, not copied. */
  public static QuantizedTensor ofDoubleQuant(QuantType type, long[] shape, int blocksize, DType dtype,
      byte[] packed, byte[] qabsmax, float[] nestedAbsmax, float[] nestedCode, int nestedBlocksize, float offset) {
    float[] code = Arrays.equals(nestedCode, DynamicMap.signed()) ? DynamicMap.signed() : nestedCode;
    return new QuantizedTensor(type, shape, blocksize, dtype, packed, null, qabsmax, nestedAbsmax, code,
        nestedBlocksize, offset);
  }

  /**
   * Quantises {@code w} (float32, bfloat16 or float16; any shape, flattened row-major) exactly as
   * bitsandbytes' quantize_4bit(w, blocksize, compress_statistics=doubleQuant, quant_type=type) does.
   * Runs in parallel over chunks of blocks.
   */
  public static QuantizedTensor quantize(INDArray w, QuantType type, int blocksize, boolean doubleQuant) {
    DType dtype = switch (w.dataType()) {
      case FLOAT -> DType.F32;
      case BFLOAT16 -> DType.BF16;
      case HALF -> DType.F16;
      default -> throw new IllegalArgumentException("cannot quantise a " + w.dataType()
          + " tensor; bitsandbytes 4-bit takes float32, bfloat16 or float16 weights");
    };
    requireBlocksize(blocksize, 32, "blocksize");
    long n = w.length();
    if ((n + 1) / 2 > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("a tensor of " + n + " elements is too large to quantise in one piece");
    }
    INDArray src = NativeFloats.denseFloat(w);
    NativeFloats.beforeRead(src);
    byte[] packed = new byte[(int) ((n + 1) / 2)];
    float[] absmax = new float[(int) blocks(n, blocksize)];
    forEachChunk(n, blocksize, (first, len) -> {
      float[] buf = CHUNK.get();
      NativeFloats.read(src, first, buf, len);
      Blockwise4bit.quantize(buf, len, first, type, blocksize, packed, absmax);
    });
    if (!doubleQuant) return of(type, w.shape(), blocksize, dtype, packed, absmax);
    float offset = mean(absmax);
    float[] centred = new float[absmax.length];
    for (int i = 0; i < absmax.length; i++) centred[i] = absmax[i] - offset;
    float[] nested = new float[(int) blocks(absmax.length, NESTED_BLOCKSIZE)];
    byte[] q = Blockwise8bit.quantize(centred, DynamicMap.signed(), NESTED_BLOCKSIZE, nested);
    return new QuantizedTensor(type, w.shape(), blocksize, dtype, packed, null, q, nested, DynamicMap.signed(),
        NESTED_BLOCKSIZE, offset);
  }

  /** float64 sum in index order, divided in float64, rounded once to float32. */
  static float mean(float[] v) {
    double s = 0;
    for (float x : v) s += x;
    return (float) (s / v.length);
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public long numel() {
    return numel;
  }

  public QuantType type() {
    return type;
  }

  public int blocksize() {
    return blocksize;
  }

  /** The weight's type before quantisation; dequantised values are rounded to it. */
  public DType dtype() {
    return dtype;
  }

  public boolean isDoubleQuant() {
    return qabsmax != null;
  }

  /** The absmax of every block as dequantisation uses it (expanded from 8 bits when double-quantised). */
  public float[] effectiveAbsmax() {
    if (qabsmax == null) return absmax.clone();
    float[] a = Blockwise8bit.dequantize(qabsmax, nestedAbsmax, nestedCode, nestedBlocksize);
    for (int i = 0; i < a.length; i++) a[i] += offset;
    return a;
  }

  @Override
  public void dequantizeInto(INDArray dst) {
    if (dst.length() != numel) {
      throw new IllegalArgumentException("cannot dequantise " + numel + " values of shape " + Arrays.toString(shape)
          + " into an array of " + dst.length() + " elements");
    }
    if (!NativeFloats.isDenseFloat(dst)) {
      INDArray tmp = Nd4j.createUninitialized(DataType.FLOAT, dst.shape(), 'c');
      dequantizeInto(tmp);
      dst.assign(tmp);
      return;
    }
    float[] scales = qabsmax == null ? absmax : effectiveAbsmax();
    forEachChunk(numel, blocksize, (first, len) -> {
      float[] buf = CHUNK.get();
      Blockwise4bit.dequantize(packed, first, len, scales, type, blocksize, dtype, buf);
      NativeFloats.write(buf, len, dst, first);
    });
    NativeFloats.afterWrite(dst);
  }

  /** A new float32 array of {@link #shape()} with the dequantised values. */
  public INDArray dequantize() {
    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
    dequantizeInto(out);
    return out;
  }

  @Override
  public long bytesResident() {
    if (qabsmax == null) return packed.length + 4L * absmax.length;
    long code = nestedCode == DynamicMap.signed() ? 0 : 4L * nestedCode.length;
    return packed.length + qabsmax.length + 4L * nestedAbsmax.length + 4 + code;
  }

  byte[] packed() {
    return packed;
  }

  /** float32 absmax per block; null when double-quantised. */
  float[] absmax() {
    return absmax;
  }

  byte[] qabsmax() {
    return qabsmax;
  }

  float[] nestedAbsmax() {
    return nestedAbsmax;
  }

  float[] nestedCode() {
    return nestedCode;
  }

  int nestedBlocksize() {
    return nestedBlocksize;
  }

  float offset() {
    return offset;
  }

  @Override
  public String toString() {
    return type.bnbName() + Arrays.toString(shape) + " blocksize " + blocksize + (isDoubleQuant() ? " dq" : "");
  }

  private interface ChunkTask {
    void run(long first, int len);
  }

  /** Runs {@code task} over chunks of whole blocks covering [0, n), in parallel when there are several. */
  private static void forEachChunk(long n, int blocksize, ChunkTask task) {
    int chunk = Math.max(blocksize, CHUNK_ELEMENTS / blocksize * blocksize);
    long chunks = (n + chunk - 1) / chunk;
    if (chunks <= 1) {
      if (n > 0) task.run(0, (int) n);
      return;
    }
    IntStream.range(0, Math.toIntExact(chunks)).parallel().forEach(c -> {
      long first = (long) c * chunk;
      task.run(first, (int) Math.min(chunk, n - first));
    });
  }

  static long blocks(long n, int blocksize) {
    return (n + blocksize - 1) / blocksize;
  }

  private static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a negative dimension");
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  private static void requireBlocksize(int b, int min, String what) {
    if (b < min || b > 4096 || Integer.bitCount(b) != 1) {
      throw new IllegalArgumentException(what + " is " + b + "; bitsandbytes uses a power of two from " + min
          + " to 4096");
    }
  }

  private static void requireLength(String what, long actual, long expected) {
    if (actual != expected) {
      throw new IllegalArgumentException(what + " has " + actual + " entries but the shape and block size need "
          + expected);
    }
  }
}
