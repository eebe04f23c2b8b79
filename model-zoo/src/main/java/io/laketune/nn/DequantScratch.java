package io.laketune.nn;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-thread buffers that narrow (bf16) or packed (4-bit) frozen weights expand into when a layer uses them: one buffer per
 * (type, shape), shared by every packed parameter of that shape. A Llama block has four weight
 * shapes (q/o, k/v, gate/up, down), so a thread holds four expanded matrices instead of the whole
 * model in fp32 — the memory that 4-bit storage saves stays saved.
 *
 * <p>Being per thread, tasks that share one cached frozen model in an executor JVM never see each
 * other's expansions. The price is the contract of {@link Param#value()} for packed parameters: the
 * array is valid until the same thread expands another parameter of the same shape.
 */
final class DequantScratch {
  private static final ThreadLocal<Map<Key, INDArray>> BUFFERS = ThreadLocal.withInitial(HashMap::new);

  private DequantScratch() {}

  private record Key(DataType type, long[] shape) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.type == type && Arrays.equals(k.shape, shape);
    }

    @Override
    public int hashCode() {
      return 31 * type.hashCode() + Arrays.hashCode(shape);
    }
  }

  /** This thread's c-order buffer of {@code type} and {@code shape}, created on first use. */
  static INDArray buffer(DataType type, long[] shape) {
    return BUFFERS.get().computeIfAbsent(new Key(type, shape.clone()), k -> {
      try (var ws = Workspaces.outside()) {
        return Nd4j.create(k.type, k.shape, 'c');
      }
    });
  }

  /** Drops this thread's buffers (they are rebuilt on the next use). */
  static void releaseCurrentThread() {
    BUFFERS.get().clear();
  }
}
