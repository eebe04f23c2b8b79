package io.laketune.io;

import java.io.IOException;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The element types a safetensors file can hold, with their on-disk names and widths.
 *
 * <p>Names and widths follow the safetensors format (all values little endian). The F8 types are
 * carried through as raw bytes only: laketune neither computes in them nor converts to or from them.
 */
public enum DType {
  F64("F64", 8, Kind.FLOAT, DataType.DOUBLE),
  F32("F32", 4, Kind.FLOAT, DataType.FLOAT),
  F16("F16", 2, Kind.FLOAT, DataType.HALF),
  BF16("BF16", 2, Kind.FLOAT, DataType.BFLOAT16),
  I64("I64", 8, Kind.INTEGER, DataType.LONG),
  I32("I32", 4, Kind.INTEGER, DataType.INT),
  I16("I16", 2, Kind.INTEGER, DataType.SHORT),
  I8("I8", 1, Kind.INTEGER, DataType.BYTE),
  U64("U64", 8, Kind.INTEGER, DataType.UINT64),
  U32("U32", 4, Kind.INTEGER, DataType.UINT32),
  U16("U16", 2, Kind.INTEGER, DataType.UINT16),
  U8("U8", 1, Kind.INTEGER, DataType.UBYTE),
  BOOL("BOOL", 1, Kind.INTEGER, DataType.BOOL),
  F8_E4M3("F8_E4M3", 1, Kind.RAW, null),
  F8_E5M2("F8_E5M2", 1, Kind.RAW, null);

  /** How values of a type are converted: through double, through long, or not at all. */
  enum Kind {
    FLOAT,
    INTEGER,
    RAW
  }

  private final String safetensorsName;
  private final int size;
  private final Kind kind;
  private final DataType nd4j;

  DType(String safetensorsName, int size, Kind kind, DataType nd4j) {
    this.safetensorsName = safetensorsName;
    this.size = size;
    this.kind = kind;
    this.nd4j = nd4j;
  }

  /** The name used in the safetensors header, e.g. "BF16". */
  public String safetensorsName() {
    return safetensorsName;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  /** True for the types laketune only copies as bytes (F8): no conversion to or from ND4J. */
  public boolean isRawOnly() {
    return kind == Kind.RAW;
  }

  Kind kind() {
    return kind;
  }

  /** The ND4J type holding the same values bit for bit; throws for raw-only types. */
  public DataType toNd4j() {
    if (nd4j == null) {
      throw new IllegalArgumentException(
          "dtype " + safetensorsName + " has no ND4J equivalent; read it with readBytes instead.");
    }
    return nd4j;
  }

  /** The type that stores ND4J's {@code type} bit for bit, e.g. BFLOAT16 → BF16. */
  public static DType fromNd4j(DataType type) {
    switch (type) {
      case DOUBLE:
        return F64;
      case FLOAT:
        return F32;
      case HALF:
        return F16;
      case BFLOAT16:
        return BF16;
      case LONG:
        return I64;
      case INT:
        return I32;
      case SHORT:
        return I16;
      case BYTE:
        return I8;
      case UINT64:
        return U64;
      case UINT32:
        return U32;
      case UINT16:
        return U16;
      case UBYTE:
        return U8;
      case BOOL:
        return BOOL;
      default:
        throw new IllegalArgumentException(
            "ND4J type " + type + " cannot be stored in safetensors; cast the array to a numeric type first.");
    }
  }

  /** Looks up a header dtype name; an unknown name is an error naming it, the tensor and the file. */
  public static DType fromSafetensors(String name, String tensor, Path file) throws IOException {
    DType t = find(name);
    if (t != null) {
      return t;
    }
    throw new IOException(
        file + ": tensor '" + tensor + "' has unknown dtype '" + name + "'; laketune reads "
            + knownNames() + ", so re-save the checkpoint in one of those.");
  }

  /** Looks up a header dtype name such as "BF16"; throws IllegalArgumentException naming an unknown one. */
  public static DType fromSafetensors(String name) {
    DType t = find(name);
    if (t != null) {
      return t;
    }
    throw new IllegalArgumentException(
        "unknown safetensors dtype '" + name + "'; expected one of " + knownNames() + ".");
  }

  private static DType find(String name) {
    for (DType t : values()) {
      if (t.safetensorsName.equals(name)) {
        return t;
      }
    }
    return null;
  }

  private static String knownNames() {
    StringBuilder s = new StringBuilder();
    for (DType t : values()) {
      s.append(s.length() == 0 ? "" : ", ").append(t.safetensorsName);
    }
    return s.toString();
  }
}
