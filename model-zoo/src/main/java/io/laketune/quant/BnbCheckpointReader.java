package io.laketune.quant;

import io.laketune.checkpoint.HfCheckpointReader;
import io.laketune.io.DType;
import io.laketune.io.TensorInfo;
import java.io.IOException;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Reads the 4-bit weights of a checkpoint that transformers saved from a bitsandbytes-quantised model
 * (Linear4bit._save_to_state_dict; QuantState.from_dict reads the same keys). For a weight W:
 *
 * <pre>
 *   W                                   U8 [ceil(n/2), 1]  packed codes
 *   W.absmax                            F32 [blocks]       (U8 [blocks] with double quantisation)
 *   W.quant_map                         F32 [16]           the code book (the CUDA kernels use their own table)
 *   W.nested_absmax                     F32 [ceil(blocks/nested_blocksize)]   double quantisation only
 *   W.nested_quant_map                  F32 [256]          the 8-bit dynamic map, double quantisation only
 *   W.quant_state.bitsandbytes__nf4|fp4 U8 [len]           JSON: quant_type, blocksize, dtype, shape,
 *                                                           nested_blocksize, nested_dtype, nested_offset
 * </pre>
 *
 * A missing key, a wrong dtype or a length that does not fit the shape is an IOException naming the key.
 */
public final class BnbCheckpointReader {
  private static final String[] STATE_SUFFIXES = {
    ".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map",
    "." + BnbQuantState.keySuffix(QuantType.NF4), "." + BnbQuantState.keySuffix(QuantType.FP4)
  };

  private BnbCheckpointReader() {}

  /** Whether the checkpoint holds {@code weight} in 4 bits (it has a quant-state key). */
  public static boolean isQuantized(HfCheckpointReader ckpt, String weight) {
    return stateKey(ckpt, weight) != null;
  }

  /** The weight whose quant state {@code key} is part of ("x.weight.absmax" → "x.weight"), or null. */
  public static String ownerOf(String key) {
    for (String s : STATE_SUFFIXES) {
      if (key.endsWith(s) && key.length() > s.length()) return key.substring(0, key.length() - s.length());
    }
    return null;
  }

  /** Reads {@code weight} and its quant state. */
  public static QuantizedTensor read(HfCheckpointReader ckpt, String weight) throws IOException {
    String where = ckpt.fileOf(weight).toString();
    String stateKey = stateKey(ckpt, weight);
    if (stateKey == null) {
      throw new IOException(where + ": '" + weight + "' has no quant_state.bitsandbytes__nf4/fp4 key; it is not a"
          + " bitsandbytes 4-bit weight");
    }
    requireDtype(ckpt, stateKey, DType.U8);
    BnbQuantState st = BnbQuantState.parse(ckpt.readBytes(stateKey), stateKey, where);
    if (!stateKey.endsWith(BnbQuantState.keySuffix(st.type()))) {
      throw new IOException(where + ": '" + stateKey + "' holds quant_type " + st.type().bnbName()
          + ", which contradicts its name; re-save the checkpoint.");
    }
    long n = 1;
    for (long d : st.shape()) n = Math.multiplyExact(n, d);
    long blocks = QuantizedTensor.blocks(n, st.blocksize());
    requireDtype(ckpt, weight, DType.U8);
    requireCount(ckpt, weight, (n + 1) / 2, "ceil(n/2) for quant_state shape " + Arrays.toString(st.shape()));
    byte[] packed = ckpt.readBytes(weight);
    String quantMap = weight + ".quant_map";
    requireDtype(ckpt, quantMap, DType.F32);
    requireCount(ckpt, quantMap, 16, "16 code values");
    String absmaxKey = weight + ".absmax";
    try {
      if (!st.doubleQuant()) {
        requireDtype(ckpt, absmaxKey, DType.F32);
        requireCount(ckpt, absmaxKey, blocks, "one per block of " + st.blocksize());
        return QuantizedTensor.of(st.type(), st.shape(), st.blocksize(), st.dtype(), packed,
            floats(ckpt, absmaxKey));
      }
      requireDtype(ckpt, absmaxKey, DType.U8);
      requireCount(ckpt, absmaxKey, blocks, "one 8-bit code per block of " + st.blocksize());
      String nested = weight + ".nested_absmax";
      String nestedMap = weight + ".nested_quant_map";
      requireDtype(ckpt, nested, DType.F32);
      requireDtype(ckpt, nestedMap, DType.F32);
      requireCount(ckpt, nestedMap, 256, "the 256 values of the 8-bit dynamic map");
      int nbs = st.nestedBlocksize();
      requireCount(ckpt, nested, QuantizedTensor.blocks(blocks, nbs),
          "one per " + nbs + " blocks (nested_blocksize)");
      return QuantizedTensor.ofDoubleQuant(st.type(), st.shape(), st.blocksize(), st.dtype(), packed,
          ckpt.readBytes(absmaxKey), floats(ckpt, nested), floats(ckpt, nestedMap), nbs, st.nestedOffset());
    } catch (IllegalArgumentException e) {
      throw new IOException(where + ": 4-bit weight '" + weight + "': " + e.getMessage()
          + "; re-save the checkpoint with bitsandbytes and transformers.", e);
    }
  }

  private static String stateKey(HfCheckpointReader ckpt, String weight) {
    for (QuantType t : QuantType.values()) {
      String k = weight + "." + BnbQuantState.keySuffix(t);
      if (ckpt.contains(k)) return k;
    }
    return null;
  }

  private static float[] floats(HfCheckpointReader ckpt, String key) throws IOException {
    return ckpt.read(key, DataType.FLOAT).data().asFloat();
  }

  private static void requireDtype(HfCheckpointReader ckpt, String key, DType expected) throws IOException {
    if (!ckpt.contains(key)) {
      throw new IOException(ckpt.dir() + " lacks '" + key + "', part of a bitsandbytes 4-bit weight; re-download"
          + " or re-save the whole checkpoint.");
    }
    TensorInfo t = ckpt.info(key);
    if (t.dtype() != expected) {
      throw new IOException(ckpt.fileOf(key) + ": '" + key + "' is " + t.dtype().safetensorsName() + " but"
          + " bitsandbytes stores it as " + expected.safetensorsName() + "; re-save the checkpoint.");
    }
  }

  private static void requireCount(HfCheckpointReader ckpt, String key, long expected, String why)
      throws IOException {
    TensorInfo t = ckpt.info(key);
    if (t.numel() != expected) {
      throw new IOException(ckpt.fileOf(key) + ": '" + key + "' has " + t.numel() + " elements, expected "
          + expected + " (" + why + "); re-save the checkpoint.");
    }
  }
}
