package io.laketune.train;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bulk copies between one chunk's float[] and a range of the flat trainable vector (a dense FLOAT
 * ND4J array of any length, long-indexed), without an intermediate INDArray. Each call makes its own
 * pointer, so tasks may copy different ranges of one array at once.
 */
final class FlatFloats {
  private FlatFloats() {}

  static void checkDense(INDArray a) {
    if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || !Shape.hasDefaultStridesForShape(a)) {
      throw new IllegalStateException("the flat trainable vector must be a dense FLOAT array, not " + a.shapeInfoToString());
    }
  }

  /** dst[0, n) = a[from, from + n). */
  static void read(INDArray a, long from, float[] dst, int n) {
    Nd4j.getAffinityManager().ensureLocation(a, AffinityManager.Location.HOST);
    FloatPointer p = new FloatPointer(a.data().addressPointer());
    p.position(p.position() + from).get(dst, 0, n);
  }

  /** a[to, to + n) = src[0, n). */
  static void write(float[] src, int n, INDArray a, long to) {
    FloatPointer p = new FloatPointer(a.data().addressPointer());
    p.position(p.position() + to).put(src, 0, n);
    Nd4j.getAffinityManager().tagLocation(a, AffinityManager.Location.HOST);
  }
}
