package io.laketune.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The parameters of a model by name. All trainable parameters live in one flat buffer of the
 * compute type, and their gradients in a second one of the same layout, so that synchronising,
 * averaging, clipping and checkpointing act on one array. Frozen parameters are stored apart,
 * optionally in a narrower type (bf16), and have no gradient.
 */
public final class ParamStore {
  static {
    io.laketune.platform.NativeBuilds.initQuietly();
  }

  private final DataType computeType;
  private final Map<String, Param> params;
  private final INDArray flatValues;
  private final INDArray flatGrads;
  private final List<String> trainableNames;

  private ParamStore(DataType computeType, Map<String, Param> params, INDArray flatValues,
      INDArray flatGrads, List<String> trainableNames) {
    this.computeType = computeType;
    this.params = params;
    this.flatValues = flatValues;
    this.flatGrads = flatGrads;
    this.trainableNames = trainableNames;
  }

  /**
   * Allocates zeroed parameters for the given shapes.
   *
   * @param shapes name → shape, in model order (the flat layout follows it)
   * @param trainable which names get a gradient and live in the flat buffer
   * @param computeType FLOAT for training, DOUBLE for gradient checks
   * @param frozenStorage the stored type of frozen parameters (compute type or BFLOAT16)
   */
  public static ParamStore allocate(Map<String, long[]> shapes, Predicate<String> trainable,
      DataType computeType, DataType frozenStorage) {
    long total = 0;
    List<String> names = new ArrayList<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      if (trainable.test(e.getKey())) {
        names.add(e.getKey());
        total += numel(e.getValue());
      }
    }
    INDArray values = total == 0 ? null : Nd4j.zeros(computeType, total);
    INDArray grads = total == 0 ? null : Nd4j.zeros(computeType, total);
    Map<String, Param> params = new LinkedHashMap<>();
    long offset = 0;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      String name = e.getKey();
      long[] shape = e.getValue();
      if (trainable.test(name)) {
        long n = numel(shape);
        INDArray v = values.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', shape);
        INDArray g = grads.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', shape);
        params.put(name, new Param(name, shape, computeType, v, g));
        offset += n;
      } else {
        params.put(name, new Param(name, shape, computeType, Nd4j.zeros(frozenStorage, shape), null));
      }
    }
    return new ParamStore(computeType, Collections.unmodifiableMap(params), values, grads,
        List.copyOf(names));
  }

  /**
   * A store whose trainable parameters are {@code own}'s and whose other parameters are borrowed
   * from {@code shared} (the same objects, so the memory is shared): several adapters over one
   * base model in memory.
   */
  public static ParamStore sharing(ParamStore shared, ParamStore own) {
    if (shared.computeType != own.computeType) {
      throw new IllegalArgumentException("stores differ in compute type: " + shared.computeType + " vs " + own.computeType);
    }
    Map<String, Param> params = new LinkedHashMap<>();
    for (Map.Entry<String, Param> e : shared.params.entrySet()) {
      if (!own.params.containsKey(e.getKey())) params.put(e.getKey(), e.getValue());
    }
    params.putAll(own.params);
    return new ParamStore(own.computeType, Collections.unmodifiableMap(params), own.flatValues, own.flatGrads,
        own.trainableNames);
  }

  static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) n = Math.multiplyExact(n, d);
    return n;
  }

  public DataType computeType() {
    return computeType;
  }

  /** The parameter; an unknown name is an error naming it. */
  public Param get(String name) {
    Param p = params.get(name);
    if (p == null) throw new IllegalArgumentException("the model has no parameter '" + name + "'");
    return p;
  }

  /** The parameter or null. */
  public Param find(String name) {
    return params.get(name);
  }

  public Map<String, Param> all() {
    return params;
  }

  public List<String> trainableNames() {
    return trainableNames;
  }

  /** All trainable values as one vector (a live view); null when nothing is trainable. */
  public INDArray flatValues() {
    return flatValues;
  }

  /** All gradients as one vector (a live view), in the layout of {@link #flatValues()}. */
  public INDArray flatGrads() {
    return flatGrads;
  }

  public long trainableCount() {
    return flatValues == null ? 0 : flatValues.length();
  }

  public long totalCount() {
    long n = 0;
    for (Param p : params.values()) n += p.length();
    return n;
  }

  public void zeroGrads() {
    if (flatGrads != null) flatGrads.assign(0);
  }
}
