package io.laketune.quant;

import io.laketune.io.DType;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Lays a {@link QuantizedTensor} out as transformers saves a bitsandbytes 4-bit weight (see {@link
 * BnbCheckpointReader} for the keys): the weight, then QuantState.as_dict(packed=True) in its order —
 * absmax, quant_map, [nested_absmax, nested_quant_map], quant_state.bitsandbytes__&lt;type&gt;. The
 * dtypes are fixed (U8 bytes, F32 scales and maps) whatever type the rest of the checkpoint is saved in,
 * so they are returned in {@code exactTypes} for the checkpoint writer.
 */
public final class BnbCheckpointWriter {
  private BnbCheckpointWriter() {}

  /** Adds {@code weight}'s tensors to {@code tensors} and their dtypes to {@code exactTypes}. */
  public static void add(String weight, QuantizedTensor q, LinkedHashMap<String, INDArray> tensors,
      Map<String, DType> exactTypes) {
    put(tensors, exactTypes, weight, bytes(q.packed(), q.packed().length, 1), DType.U8);
    if (q.isDoubleQuant()) {
      put(tensors, exactTypes, weight + ".absmax", bytes(q.qabsmax(), q.qabsmax().length), DType.U8);
    } else {
      put(tensors, exactTypes, weight + ".absmax", Nd4j.createFromArray(q.absmax().clone()), DType.F32);
    }
    put(tensors, exactTypes, weight + ".quant_map", Nd4j.createFromArray(q.type().codebook()), DType.F32);
    if (q.isDoubleQuant()) {
      put(tensors, exactTypes, weight + ".nested_absmax", Nd4j.createFromArray(q.nestedAbsmax().clone()), DType.F32);
      put(tensors, exactTypes, weight + ".nested_quant_map", Nd4j.createFromArray(q.nestedCode().clone()), DType.F32);
    }
    byte[] json = BnbQuantState.of(q).toJson();
    put(tensors, exactTypes, weight + "." + BnbQuantState.keySuffix(q.type()), bytes(json, json.length), DType.U8);
  }

  /** Bytes as an int8 array, written as U8 with the same bit patterns. */
  private static INDArray bytes(byte[] b, long... shape) {
    return Nd4j.createFromArray(b.clone()).reshape(shape);
  }

  private static void put(LinkedHashMap<String, INDArray> tensors, Map<String, DType> exactTypes, String key,
      INDArray value, DType type) {
    tensors.put(key, value);
    exactTypes.put(key, type);
  }
}
