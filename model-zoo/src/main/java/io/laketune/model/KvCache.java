package io.laketune.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Keys and values of every layer for incremental decoding of one sequence: per layer
 * k and v [Hkv, capacity, D]; {@link #length()} tokens are filled.
 */
public final class KvCache {
  private final INDArray[] keys;
  private final INDArray[] values;
  private final int capacity;
  private int length;

  public KvCache(int layers, int kvHeads, int headDim, int capacity, DataType type) {
    this.keys = new INDArray[layers];
    this.values = new INDArray[layers];
    for (int l = 0; l < layers; l++) {
      keys[l] = Nd4j.zeros(type, kvHeads, capacity, headDim);
      values[l] = Nd4j.zeros(type, kvHeads, capacity, headDim);
    }
    this.capacity = capacity;
  }

  public int length() {
    return length;
  }

  public int capacity() {
    return capacity;
  }

  INDArray keys(int layer) {
    return keys[layer];
  }

  INDArray values(int layer) {
    return values[layer];
  }

  /** Reserves room for n more tokens; returns the position of the first. */
  int reserve(int n) {
    if (length + n > capacity) {
      throw new IllegalStateException("the KV cache holds " + capacity + " tokens; "
          + (length + n) + " requested (raise max new tokens or the cache size)");
    }
    return length;
  }

  void advance(int n) {
    length += n;
  }
}
