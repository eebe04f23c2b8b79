package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A frozen weight held in a compact encoding (4-bit NF4/FP4 blocks, see io.laketune.quant) that is
 * expanded to floats each time it is used. It lives in nn only so that {@link Param} can hold one
 * without nn depending on the encodings.
 */
public interface PackedTensor {

  /** The shape of the expanded tensor, row-major. */
  long[] shape();

  /**
   * Writes the expanded values in row-major order into {@code dst}, which has as many elements as
   * {@link #shape()} (any floating type; a dense c-order FLOAT array is filled without a copy).
   */
  void dequantizeInto(INDArray dst);

  /** Bytes this tensor keeps in memory (encoded values and scales, not shared code books). */
  long bytesResident();
}
