package io.laketune.io;

import java.util.Arrays;

/**
 * One tensor's entry in a safetensors header.
 *
 * @param name the tensor's key, e.g. "model.layers.0.self_attn.q_proj.weight"
 * @param dtype element type on disk
 * @param shape dimensions, row-major; empty for a scalar
 * @param begin first byte, relative to the start of the data section (after the 8 + N header bytes)
 * @param end one past the last byte, relative to the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

  public TensorInfo {
    shape = shape.clone();
  }

  /** Product of the dimensions (1 for a scalar, 0 when a dimension is 0); the header checks bound it. */
  public long numel() {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** Bytes of data: end - begin. */
  public long byteLength() {
    return end - begin;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && begin == t.begin
        && end == t.end;
  }

  @Override
  public int hashCode() {
    return 31 * (31 * name.hashCode() + Arrays.hashCode(shape)) + Long.hashCode(begin);
  }

  @Override
  public String toString() {
    return name + " " + dtype.safetensorsName() + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
  }
}
