package io.laketune.gguf;

import io.laketune.io.NativeBytes;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A tensor's float32 values as rows: a row is the innermost dimension (ggml's ne[0]), i.e. the
 * last dimension of the row-major (PyTorch) shape; every leading dimension is flattened into the
 * row count. The GGUF writer pulls rows in chunks, so a tensor is never copied whole into the
 * Java heap.
 */
public interface TensorRows {

  long rows();

  /** Elements per row. */
  int cols();

  /** Copies rows [first, first + count) into {@code dst[0 .. count * cols())}. */
  void read(long first, int count, float[] dst);

  /** Rows over a dense row-major float32 array (a 1-D array is one row). */
  static TensorRows of(INDArray array) {
    if (array.dataType() != DataType.FLOAT) array = array.castTo(DataType.FLOAT);
    if (!NativeBytes.isDense(array)) array = array.dup('c');
    INDArray dense = array;
    long[] shape = dense.shape();
    int cols = shape.length == 0 ? 1 : Math.toIntExact(shape[shape.length - 1]);
    long rows = cols == 0 ? 0 : dense.length() / cols;
    NativeBytes.syncToHost(dense);
    return new TensorRows() {
      @Override
      public long rows() {
        return rows;
      }

      @Override
      public int cols() {
        return cols;
      }

      @Override
      public void read(long first, int count, float[] dst) {
        FloatBuffer src = NativeBytes.window(dense, first * cols * 4L, Math.multiplyExact(count * cols, 4)).asFloatBuffer();
        src.get(dst, 0, count * cols);
      }
    };
  }

  /** Rows over a heap array holding {@code rows * cols} values row-major. */
  static TensorRows of(float[] values, long rows, int cols) {
    if ((long) rows * cols != values.length) {
      throw new IllegalArgumentException(values.length + " values are not " + rows + " rows of " + cols);
    }
    return new TensorRows() {
      @Override
      public long rows() {
        return rows;
      }

      @Override
      public int cols() {
        return cols;
      }

      @Override
      public void read(long first, int count, float[] dst) {
        System.arraycopy(values, Math.toIntExact(first * cols), dst, 0, count * cols);
      }
    };
  }
}
