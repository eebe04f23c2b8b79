package io.laketune.gguf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One GGUF metadata value. Integers of every width are held as {@code Long} (unsigned ones keep
 * their unsigned value; UINT64 above 2^63 wraps, as Java has no u64), FLOAT32 as {@code Float},
 * FLOAT64 as {@code Double}, BOOL as {@code Boolean}, STRING as {@code String}; an ARRAY holds a
 * list of such values, all of {@code elementType} (arrays of arrays are not used by llama.cpp and
 * not supported here).
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

  public GgufValue {
    if (type == GgufValueType.ARRAY) {
      if (elementType == null || elementType == GgufValueType.ARRAY) {
        throw new IllegalArgumentException("a GGUF array needs a scalar or string element type, got " + elementType);
      }
      if (!(value instanceof List<?> list)) throw new IllegalArgumentException("a GGUF array value must be a list");
      value = Collections.unmodifiableList(new ArrayList<>(list));
      for (Object o : (List<?>) value) check(elementType, o);
    } else {
      if (elementType != null) throw new IllegalArgumentException("only arrays have an element type");
      check(type, value);
    }
  }

  private static void check(GgufValueType t, Object v) {
    boolean ok = switch (t) {
      case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> v instanceof Long;
      case FLOAT32 -> v instanceof Float;
      case FLOAT64 -> v instanceof Double;
      case BOOL -> v instanceof Boolean;
      case STRING -> v instanceof String;
      case ARRAY -> false;
    };
    if (!ok) {
      throw new IllegalArgumentException("a GGUF " + t + " cannot hold " + (v == null ? "null" : v.getClass().getSimpleName()));
    }
  }

  public static GgufValue uint32(long v) {
    if (v < 0 || v > 0xFFFF_FFFFL) throw new IllegalArgumentException("not a u32: " + v);
    return new GgufValue(GgufValueType.UINT32, null, v);
  }

  public static GgufValue int32(long v) {
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new IllegalArgumentException("not an i32: " + v);
    return new GgufValue(GgufValueType.INT32, null, v);
  }

  public static GgufValue uint64(long v) {
    return new GgufValue(GgufValueType.UINT64, null, v);
  }

  public static GgufValue float32(double v) {
    return new GgufValue(GgufValueType.FLOAT32, null, (float) v);
  }

  public static GgufValue bool(boolean v) {
    return new GgufValue(GgufValueType.BOOL, null, v);
  }

  public static GgufValue string(String v) {
    return new GgufValue(GgufValueType.STRING, null, v);
  }

  public static GgufValue strings(List<String> v) {
    return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, v);
  }

  public static GgufValue float32s(float[] v) {
    List<Object> list = new ArrayList<>(v.length);
    for (float f : v) list.add(f);
    return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, list);
  }

  public static GgufValue int32s(int[] v) {
    List<Object> list = new ArrayList<>(v.length);
    for (int i : v) list.add((long) i);
    return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, list);
  }

  /** The integer value of any integer type. */
  public long asLong() {
    if (!(value instanceof Long l)) throw new IllegalStateException("GGUF " + type + " is not an integer");
    return l;
  }

  public String asString() {
    if (!(value instanceof String s)) throw new IllegalStateException("GGUF " + type + " is not a string");
    return s;
  }

  public float asFloat() {
    if (!(value instanceof Float f)) throw new IllegalStateException("GGUF " + type + " is not a float32");
    return f;
  }

  public boolean asBool() {
    if (!(value instanceof Boolean b)) throw new IllegalStateException("GGUF " + type + " is not a bool");
    return b;
  }

  /** The elements of an array. */
  public List<?> asList() {
    if (!(value instanceof List<?> l)) throw new IllegalStateException("GGUF " + type + " is not an array");
    return l;
  }
}
