package io.laketune.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One named weight tensor of a model.
 *
 * <p>A trainable parameter's value and gradient are views into the flat buffers of its {@link
 * ParamStore}. A frozen parameter has no gradient, and its value may be stored in a narrower type
 * (bf16) than the compute type: {@link #value()} then expands it into a reusable scratch buffer.
 */
public final class Param {
  private final String name;
  private final long[] shape;
  private final DataType computeType;
  private INDArray stored;
  private final INDArray grad;
  private INDArray scratch;

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

  /** The value in the compute type; for a narrower stored type, an expanded copy reused across calls. */
  public INDArray value() {
    if (stored.dataType() == computeType) return stored;
    if (scratch == null) {
      try (var ws = Workspaces.outside()) {
        scratch = stored.castTo(computeType);
      }
    } else {
      scratch.assign(stored);
    }
    return scratch;
  }

  /** The value as stored (a view into the flat buffer when trainable). */
  public INDArray stored() {
    return stored;
  }

  /** The gradient view; null when frozen. Layers add into it. */
  public INDArray grad() {
    return grad;
  }

  /** Copies {@code source} into this parameter (converting type), checking the shape. */
  public void set(INDArray source) {
    if (!java.util.Arrays.equals(source.shape(), shape)) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' has shape " + java.util.Arrays.toString(source.shape())
              + " but the model expects " + java.util.Arrays.toString(shape));
    }
    stored.assign(source);
    scratch = null;
  }

  /** Frees the expanded copy of a narrow stored value (it is rebuilt on the next use). */
  public void releaseScratch() {
    scratch = null;
  }
}
