package io.laketune.gguf;

/**
 * The types of GGUF metadata values, with the numeric ids the file stores (gguf_type in ggml's
 * gguf.h). Integers are little endian; a STRING is a u64 byte length then UTF-8 bytes; an ARRAY is
 * a u32 element type, a u64 count, then the elements.
 */
public enum GgufValueType {
  UINT8(0, 1),
  INT8(1, 1),
  UINT16(2, 2),
  INT16(3, 2),
  UINT32(4, 4),
  INT32(5, 4),
  FLOAT32(6, 4),
  BOOL(7, 1),
  STRING(8, -1),
  ARRAY(9, -1),
  UINT64(10, 8),
  INT64(11, 8),
  FLOAT64(12, 8);

  private final int id;
  private final int size;

  GgufValueType(int id, int size) {
    this.id = id;
    this.size = size;
  }

  /** The id written in the file. */
  public int id() {
    return id;
  }

  /** Bytes of one value, or -1 for STRING and ARRAY (variable length). */
  public int size() {
    return size;
  }

  /** The type of an id read from a file, or null when the id is not a GGUF value type. */
  public static GgufValueType byId(long id) {
    for (GgufValueType t : values()) {
      if (t.id == id) return t;
    }
    return null;
  }
}
