package io.laketune.quant;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bulk copies between float[] chunks and the native memory of dense row-major FLOAT arrays, so the
 * quantisation kernels run on Java arrays while tensors of any size stay off the heap. Each call makes
 * its own pointer, so threads may copy different ranges of one array at once.
 */
final class NativeFloats {
  private NativeFloats() {}

  /** True when {@code a} is FLOAT with its elements row-major and gap-free, so offsets are element indices. */
  static boolean isDenseFloat(INDArray a) {
    return a.dataType() == DataType.FLOAT && !a.isEmpty() && a.ordering() == 'c'
        && Shape.hasDefaultStridesForShape(a) && a.data().length() >= a.length();
  }

  /** {@code a} itself when dense FLOAT, else a dense FLOAT copy (exact for bf16/f16 sources). */
  static INDArray denseFloat(INDArray a) {
    if (isDenseFloat(a)) return a;
    return a.castTo(DataType.FLOAT).dup('c');
  }

  /** Makes the host copy current before reading (a no-op on the CPU backend). */
  static void beforeRead(INDArray a) {
    Nd4j.getAffinityManager().ensureLocation(a, AffinityManager.Location.HOST);
  }

  /** Marks the host copy as current after writing (a no-op on the CPU backend). */
  static void afterWrite(INDArray a) {
    Nd4j.getAffinityManager().tagLocation(a, AffinityManager.Location.HOST);
  }

  /** Copies elements [from, from + n) of dense FLOAT {@code src} into {@code dst[0, n)}. */
  static void read(INDArray src, long from, float[] dst, int n) {
    FloatPointer p = new FloatPointer(src.data().addressPointer());
    p.position(p.position() + from).get(dst, 0, n);
  }

  /** Copies {@code src[0, n)} into elements [to, to + n) of dense FLOAT {@code dst}. */
  static void write(float[] src, int n, INDArray dst, long to) {
    FloatPointer p = new FloatPointer(dst.data().addressPointer());
    p.position(p.position() + to).put(src, 0, n);
  }
}
