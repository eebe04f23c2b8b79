package io.laketune.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Byte windows onto the host memory of dense ND4J arrays, so tensors move between files and arrays
 * without a Java-heap copy and without the 2 GB limit of a single ByteBuffer.
 *
 * <p>A window is a native-order ByteBuffer over bytes [offset, offset + length) of the array's elements
 * in row-major order. It does not keep the array alive: callers hold the array while using it.
 * Public for the GGUF writer ({@code io.laketune.gguf}), which streams tensors the same way.
 */
public final class NativeBytes {

  private NativeBytes() {}

  /**
   * A pointer that starts exactly at the window. JavaCPP's asByteBuffer maps [address, address + limit)
   * clamped to 2^31 - 1 bytes and then applies position, so a window beyond 2 GB must move the address
   * itself rather than the position. No deallocator: the memory belongs to the array.
   */
  private static final class Window extends BytePointer {
    Window(long address, long length) {
      this.address = address;
      this.position = 0;
      this.limit = length;
      this.capacity = length;
    }
  }

  /** True when the array's elements lie row-major and gap-free in its buffer, so windows apply. */
  public static boolean isDense(INDArray array) {
    return !array.isEmpty()
        && array.ordering() == 'c'
        && Shape.hasDefaultStridesForShape(array)
        && array.data().length() >= array.length();
  }

  /** Bytes held by the array's elements: length × element width. */
  static long byteLength(INDArray array) {
    return array.length() * array.dataType().width();
  }

  /** A native-order view of {@code length} bytes starting {@code offset} bytes into a dense array. */
  public static ByteBuffer window(INDArray array, long offset, int length) {
    long total = byteLength(array);
    if (offset < 0 || length < 0 || offset + length > total) {
      throw new IndexOutOfBoundsException(
          "window [" + offset + ", " + (offset + length) + ") outside the array's " + total + " bytes");
    }
    long start = array.data().addressPointer().address() + offset;
    return new Window(start, length).asByteBuffer().order(ByteOrder.nativeOrder());
  }

  /** Makes the host copy current before its bytes are read (a no-op on the CPU backend). */
  public static void syncToHost(INDArray array) {
    Nd4j.getAffinityManager().ensureLocation(array, AffinityManager.Location.HOST);
  }

  /** Marks the host copy as the current one after its bytes were written (a no-op on the CPU backend). */
  static void markHostWritten(INDArray array) {
    Nd4j.getAffinityManager().tagLocation(array, AffinityManager.Location.HOST);
  }
}
