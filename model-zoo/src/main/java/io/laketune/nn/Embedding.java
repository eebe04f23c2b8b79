package io.laketune.nn;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token (or position) embedding lookup: y[n] = W[ids[n]].
 *
 * <p>Shapes: ids [N], W [V, C], y [N, C]. Backward scatter-adds dy rows into dW (repeated ids
 * accumulate), done in Java over the gradient's native memory: one pass, no V x N one-hot.
 */
public final class Embedding {
  private final Param weight;

  public Embedding(Param weight) {
    this.weight = weight;
  }

  public Param weight() {
    return weight;
  }

  public INDArray forward(int[] ids) {
    long vocab = weight.shape()[0];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
            + " is outside the vocabulary [0, " + vocab + ") of '" + weight.name() + "'");
      }
    }
    INDArray rows = Nd4j.pullRows(weight.stored(), 1, ids);
    return rows.dataType() == weight.computeType() ? rows : rows.castTo(weight.computeType());
  }

  /** Adds dy rows into dW at ids. dy [N, C]. */
  public void backward(INDArray dy, int[] ids) {
    if (!weight.trainable()) return;
    scatterAddRows(weight.grad(), dy, ids);
  }

  /** dst[ids[n], :] += src[n, :] for a row-major contiguous dst, in bulk row copies. */
  static void scatterAddRows(INDArray dst, INDArray src, int[] ids) {
    int c = (int) dst.size(1);
    if (dst.ordering() != 'c' || dst.stride(1) != 1 || dst.stride(0) != c) {
      throw new IllegalStateException("embedding gradient must be a contiguous row-major array");
    }
    INDArray s = src.ordering() == 'c' && !src.isView() ? src : src.dup('c');
    // addressPointer() of an array's buffer points at the array's first element (view offset applied).
    if (dst.dataType() == DataType.FLOAT) {
      FloatPointer d = new FloatPointer(dst.data().addressPointer());
      float[] all = s.data().asFloat();
      float[] row = new float[c];
      for (int n = 0; n < ids.length; n++) {
        long off = (long) ids[n] * c;
        d.position(off).get(row);
        for (int j = 0; j < c; j++) row[j] += all[n * c + j];
        d.position(off).put(row);
      }
    } else if (dst.dataType() == DataType.DOUBLE) {
      DoublePointer d = new DoublePointer(dst.data().addressPointer());
      double[] all = s.data().asDouble();
      double[] row = new double[c];
      for (int n = 0; n < ids.length; n++) {
        long off = (long) ids[n] * c;
        d.position(off).get(row);
        for (int j = 0; j < c; j++) row[j] += all[n * c + j];
        d.position(off).put(row);
      }
    } else {
      throw new IllegalStateException("unsupported gradient type " + dst.dataType());
    }
  }
}
