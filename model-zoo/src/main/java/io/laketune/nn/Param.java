package io.laketune.nn;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One named weight tensor of a model.
 *
 * <p>A trainable parameter's value and gradient are views into the flat buffers of its {@link
 * ParamStore}. A frozen parameter has no gradient, and its value may be stored in a narrower type
 * (bf16) than the compute type: {@link #value()} then expands it into a reusable scratch buffer.
 * A frozen parameter may also be {@linkplain #pack packed} (4-bit NF4/FP4): it then holds no array,
 * and {@link #value()} dequantises into a per-thread buffer shared by packed parameters of its shape.
 */
public final class Param {
  private final String name;
  private final long[] shape;
  private final DataType computeType;
  private INDArray stored;
  private final INDArray grad;
  private PackedTensor packed;
  private boolean packedTransposed;

  Param(String name, long[] shape, DataType computeType, INDArray stored, INDArray grad) {
    this.name = name;
    this.shape = shape.clone();
    this.computeType = computeType;
    this.stored = stored;
    this.grad = grad;
  }

  public String name() {
    return name;
  }

  public long[] shape() {
    return shape.clone();
  }

  public long length() {
    long n = 1;
    for (long d : shape) n *= d;
    return n;
  }

  public DataType computeType() {
    return computeType;
  }

  public boolean trainable() {
    return grad != null;
  }

  /**
   * The value in the compute type. A narrower stored value (bf16) or a packed one (4-bit) is
   * expanded into this thread's buffer for its shape, so the memory the narrow storage saves stays
   * saved: use the result before this thread asks another such parameter of the same shape.
   */
  public INDArray value() {
    if (packed != null) {
      long t = OpProfile.start();
      INDArray buf = DequantScratch.buffer(computeType, packed.shape());
      packed.dequantizeInto(buf);
      OpProfile.stop(OpProfile.Kind.DEQUANT, t);
      return packedTransposed ? buf.transpose() : buf;
    }
    if (stored.dataType() == computeType) return stored;
    long t = OpProfile.start();
    INDArray buf = DequantScratch.buffer(computeType, shape);
    buf.assign(stored);
    OpProfile.stop(OpProfile.Kind.DEQUANT, t);
    return buf;
  }

  /** The value as stored (a view into the flat buffer when trainable); packed parameters have none. */
  public INDArray stored() {
    if (packed != null) {
      throw new IllegalStateException("parameter '" + name + "' is packed (4-bit) and holds no plain array;"
          + " read it with value() or packed()");
    }
    return stored;
  }

  /**
   * Replaces this frozen parameter's array by {@code tensor}, which {@link #value()} then expands on
   * each use. {@code transposed}: the tensor holds the transpose of this 2-D parameter (a GPT-2
   * Conv1D weight [in, out] quantised as [out, in], the orientation bitsandbytes uses).
   */
  public void pack(PackedTensor tensor, boolean transposed) {
    if (trainable()) {
      throw new IllegalStateException("parameter '" + name + "' is trainable; only frozen weights can be packed");
    }
    long[] s = tensor.shape();
    boolean fits = transposed
        ? shape.length == 2 && s.length == 2 && s[0] == shape[1] && s[1] == shape[0]
        : Arrays.equals(s, shape);
    if (!fits) {
      throw new IllegalArgumentException("packed tensor of shape " + Arrays.toString(s)
          + (transposed ? " (transposed)" : "") + " does not fit parameter '" + name + "' of shape "
          + Arrays.toString(shape));
    }
    packed = tensor;
    packedTransposed = transposed;
    stored = null;
  }

  /** The packed tensor, or null when the parameter holds a plain array. */
  public PackedTensor packed() {
    return packed;
  }

  /** Whether {@link #packed()} holds the transpose of this parameter. */
  public boolean packedTransposed() {
    return packedTransposed;
  }

  /** Bytes this parameter keeps resident: its array, or its packed encoding (expansion buffers excluded). */
  public long bytesResident() {
    if (packed != null) return packed.bytesResident();
    return stored.length() * stored.dataType().width();
  }

  /** The gradient view; null when frozen. Layers add into it. */
  public INDArray grad() {
    return grad;
  }

  /** Copies {@code source} into this parameter (converting type), checking the shape. */
  public void set(INDArray source) {
    if (packed != null) {
      throw new IllegalStateException("parameter '" + name + "' is packed (4-bit); it cannot be overwritten");
    }
    if (!Arrays.equals(source.shape(), shape)) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' has shape " + Arrays.toString(source.shape())
              + " but the model expects " + Arrays.toString(shape));
    }
    stored.assign(source);
  }

  /**
   * Frees the expanded copy of a narrow stored value, and this thread's buffers for packed parameters
   * (both are rebuilt on the next use).
   */
  public void releaseScratch() {
    if (packed != null) DequantScratch.releaseCurrentThread();
  }
}
