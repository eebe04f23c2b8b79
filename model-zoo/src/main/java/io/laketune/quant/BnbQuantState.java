package io.laketune.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.DType;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The non-tensor items of a bitsandbytes QuantState, stored as UTF-8 JSON bytes in the U8 tensor
 * {@code <weight>.quant_state.bitsandbytes__<nf4|fp4>} (QuantState.as_dict(packed=True) and
 * utils.pack_dict_to_tensor): {@code quant_type}, {@code blocksize}, {@code dtype}, {@code shape}, and
 * with double quantisation {@code nested_blocksize}, {@code nested_dtype}, {@code nested_offset}.
 *
 * <p>{@link #toJson} writes what Python's {@code json.dumps} writes for that dict — key order,
 * {@code ", "} and {@code ": "} separators, floats as {@code repr} — so saved files are byte-identical
 * to bitsandbytes'.
 *
 * @param nestedOffset the double-quantisation offset; null without double quantisation
 */
record BnbQuantState(QuantType type, int blocksize, DType dtype, long[] shape, int nestedBlocksize,
    Float nestedOffset) {

  /** The key suffix after the weight name, e.g. "quant_state.bitsandbytes__nf4". */
  static String keySuffix(QuantType type) {
    return "quant_state.bitsandbytes__" + type.bnbName();
  }

  boolean doubleQuant() {
    return nestedOffset != null;
  }

  static BnbQuantState of(QuantizedTensor q) {
    return new BnbQuantState(q.type(), q.blocksize(), q.dtype(), q.shape(), q.nestedBlocksize(),
        q.isDoubleQuant() ? q.offset() : null);
  }

  /** Parses the JSON of {@code key}; {@code where} names the file for messages. */
  static BnbQuantState parse(byte[] json, String key, String where) throws IOException {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw bad(where, key, "is not JSON (" + e.getMessage() + ")");
    }
    if (root == null || !root.isObject()) throw bad(where, key, "is not a JSON object");
    QuantType type;
    try {
      type = QuantType.fromBnbName(text(root, "quant_type", key, where), where + ": " + key + " quant_type");
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
    int blocksize = powerOfTwo(root, "blocksize", 32, key, where);
    DType dtype = dtype(text(root, "dtype", key, where), "dtype", key, where);
    JsonNode s = root.get("shape");
    if (s == null || !s.isArray() || s.isEmpty()) throw bad(where, key, "has no \"shape\" list");
    long[] shape = new long[s.size()];
    for (int i = 0; i < shape.length; i++) {
      if (!s.get(i).canConvertToLong() || s.get(i).longValue() < 0) {
        throw bad(where, key, "has a \"shape\" entry that is not a size: " + s);
      }
      shape[i] = s.get(i).longValue();
    }
    if (!root.has("nested_offset")) return new BnbQuantState(type, blocksize, dtype, shape, 0, null);
    JsonNode off = root.get("nested_offset");
    if (!off.isNumber()) throw bad(where, key, "has a \"nested_offset\" that is not a number");
    if (dtype(text(root, "nested_dtype", key, where), "nested_dtype", key, where) != DType.F32) {
      throw bad(where, key, "has nested_dtype " + root.get("nested_dtype") + "; bitsandbytes writes float32");
    }
    return new BnbQuantState(type, blocksize, dtype, shape, powerOfTwo(root, "nested_blocksize", 64, key, where),
        (float) off.doubleValue());
  }

  /** json.dumps of QuantState.as_dict's non-tensor items, in its key order. */
  byte[] toJson() {
    StringBuilder b = new StringBuilder();
    b.append("{\"quant_type\": \"").append(type.bnbName()).append("\", \"blocksize\": ").append(blocksize)
        .append(", \"dtype\": \"").append(torchName(dtype)).append("\", \"shape\": [");
    for (int i = 0; i < shape.length; i++) b.append(i == 0 ? "" : ", ").append(shape[i]);
    b.append("]");
    if (nestedOffset != null) {
      b.append(", \"nested_blocksize\": ").append(nestedBlocksize).append(", \"nested_dtype\": \"float32\"")
          .append(", \"nested_offset\": ").append(pythonRepr(nestedOffset));
    }
    return b.append("}").toString().getBytes(StandardCharsets.UTF_8);
  }

  /** str(torch dtype) without "torch.", as QuantState.as_dict writes it. */
  static String torchName(DType t) {
    return switch (t) {
      case BF16 -> "bfloat16";
      case F16 -> "float16";
      default -> "float32";
    };
  }

  /**
   * Python's repr of a finite double: the shortest decimal that reads back to it (the nearest to it
   * among the shortest), positional for 1e-4 <= |v| < 1e16 ("0.0123", "64.0"), else "1.5e-05" style.
   */
  static String pythonRepr(double v) {
    if (v == 0) return (1 / v < 0) ? "-0.0" : "0.0";
    BigDecimal exact = new BigDecimal(v);
    BigDecimal best = null;
    for (int p = 1; p <= 17 && best == null; p++) {
      BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
      BigDecimal ulp = r.ulp();
      for (BigDecimal c : new BigDecimal[] {r, r.subtract(ulp), r.add(ulp)}) {
        if (c.doubleValue() == v && (best == null
            || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
          best = c;
        }
      }
    }
    BigDecimal u = best.abs().stripTrailingZeros();
    String digits = u.unscaledValue().toString();
    int decpt = digits.length() - u.scale();
    StringBuilder s = new StringBuilder(v < 0 ? "-" : "");
    if (decpt > -4 && decpt <= 16) {
      if (decpt <= 0) {
        s.append("0.").append("0".repeat(-decpt)).append(digits);
      } else if (decpt >= digits.length()) {
        s.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
      } else {
        s.append(digits, 0, decpt).append('.').append(digits.substring(decpt));
      }
    } else {
      s.append(digits.charAt(0));
      if (digits.length() > 1) s.append('.').append(digits.substring(1));
      int e = decpt - 1;
      s.append('e').append(e < 0 ? '-' : '+').append(Math.abs(e) < 10 ? "0" : "").append(Math.abs(e));
    }
    return s.toString();
  }

  private static DType dtype(String name, String field, String key, String where) throws IOException {
    return switch (name) {
      case "float32" -> DType.F32;
      case "bfloat16" -> DType.BF16;
      case "float16" -> DType.F16;
      default -> throw bad(where, key, "has " + field + " \"" + name + "\"; bitsandbytes 4-bit weights come from"
          + " float32, bfloat16 or float16");
    };
  }

  private static String text(JsonNode root, String field, String key, String where) throws IOException {
    JsonNode n = root.get(field);
    if (n == null || !n.isTextual()) throw bad(where, key, "has no string \"" + field + "\"");
    return n.textValue();
  }

  private static int integer(JsonNode root, String field, String key, String where) throws IOException {
    JsonNode n = root.get(field);
    if (n == null || !n.canConvertToInt() || !n.isIntegralNumber()) {
      throw bad(where, key, "has no integer \"" + field + "\"");
    }
    return n.intValue();
  }

  private static int powerOfTwo(JsonNode root, String field, int min, String key, String where)
      throws IOException {
    int v = integer(root, field, key, where);
    if (v < min || v > 4096 || Integer.bitCount(v) != 1) {
      throw bad(where, key, "has " + field + " " + v + ", not a power of two from " + min + " to 4096");
    }
    return v;
  }

  private static IOException bad(String where, String key, String problem) {
    return new IOException(where + ": quant state '" + key + "' " + problem
        + "; re-save the checkpoint with bitsandbytes >= 0.41.3 and transformers");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BnbQuantState s && s.type == type && s.blocksize == blocksize && s.dtype == dtype
        && Arrays.equals(s.shape, shape) && s.nestedBlocksize == nestedBlocksize
        && Objects.equals(s.nestedOffset, nestedOffset);
  }

  @Override
  public int hashCode() {
    return 31 * type.hashCode() + Arrays.hashCode(shape);
  }
}
