package io.laketune.gguf;

/**
 * The ggml tensor types laketune writes and reads, with ggml's type ids (ggml_type) and block
 * layout: F32, F16 and BF16 store one element per "block"; Q8_0 stores blocks of 32 elements as an
 * f16 scale followed by 32 int8 values (34 bytes). Rows are quantised independently, so a row's
 * length must be a multiple of the block size.
 */
public enum GgmlType {
  F32(0, 1, 4),
  F16(1, 1, 2),
  Q8_0(8, 32, 34),
  BF16(30, 1, 2);

  private final int id;
  private final int blockSize;
  private final int blockBytes;

  GgmlType(int id, int blockSize, int blockBytes) {
    this.id = id;
    this.blockSize = blockSize;
    this.blockBytes = blockBytes;
  }

  public int id() {
    return id;
  }

  /** Elements per block (32 for Q8_0, else 1). */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block. */
  public int blockBytes() {
    return blockBytes;
  }

  /** Whether a row of {@code n} elements can be stored in this type (whole blocks only). */
  public boolean fitsRow(long n) {
    return n % blockSize == 0;
  }

  /** Bytes of a row of {@code n} elements; n must be a multiple of the block size. */
  public long rowBytes(long n) {
    if (!fitsRow(n)) {
      throw new IllegalArgumentException("a row of " + n + " elements is not a whole number of " + this
          + " blocks of " + blockSize);
    }
    return n / blockSize * blockBytes;
  }

  /** The type of an id read from a file, or null when laketune does not handle it. */
  public static GgmlType byId(long id) {
    for (GgmlType t : values()) {
      if (t.id == id) return t;
    }
    return null;
  }
}
