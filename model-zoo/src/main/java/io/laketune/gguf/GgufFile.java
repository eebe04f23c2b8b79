package io.laketune.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file read back: its metadata in file order, its tensor infos, and the tensors' values on
 * demand. Used to check what laketune wrote and to inspect files from elsewhere.
 *
 * @param dataOffset absolute file offset of the tensor data section
 */
public record GgufFile(Path path, long version, Map<String, GgufValue> metadata, Map<String, TensorInfo> tensors,
    long dataOffset) {

  /**
   * One tensor's entry.
   *
   * @param ne ggml dimensions, innermost first (ne[0] is the row length)
   * @param type null when the file holds a ggml type laketune does not decode ({@code typeId} says which)
   * @param offset from the start of the data section
   */
  public record TensorInfo(String name, long[] ne, long typeId, GgmlType type, long offset) {
    /** The row-major (PyTorch) shape: ne reversed. */
    public long[] shape() {
      long[] s = new long[ne.length];
      for (int i = 0; i < ne.length; i++) s[i] = ne[ne.length - 1 - i];
      return s;
    }

    public long elements() {
      long n = 1;
      for (long d : ne) n = Math.multiplyExact(n, d);
      return n;
    }

    public long bytes() {
      if (type == null) throw new IllegalStateException("tensor '" + name + "' has ggml type " + typeId + ", which laketune does not decode");
      return GgufWriter.tensorBytes(shape(), type);
    }
  }

  public GgufValue get(String key) {
    return metadata.get(key);
  }

  /** The value of a key; a missing key is an error naming it. */
  public GgufValue require(String key) {
    GgufValue v = metadata.get(key);
    if (v == null) throw new IllegalArgumentException(path + " has no metadata key '" + key + "'");
    return v;
  }

  public TensorInfo tensor(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) throw new IllegalArgumentException(path + " has no tensor '" + name + "'");
    return t;
  }

  /** A tensor's values as float32, row-major (dequantised for F16, BF16 and Q8_0). */
  public float[] floats(String name) throws IOException {
    TensorInfo t = tensor(name);
    long n = t.elements();
    if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor '" + name + "' has " + n + " elements, too many for one array");
    ByteBuffer raw = raw(t);
    float[] out = new float[(int) n];
    TensorCodec.decode(t.type(), raw, (int) n, out);
    return out;
  }

  /** A tensor's stored bytes (little endian). */
  public ByteBuffer raw(TensorInfo t) throws IOException {
    long bytes = t.bytes();
    if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor '" + t.name() + "' is over 2 GB");
    ByteBuffer b = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long pos = dataOffset + t.offset();
      while (b.hasRemaining()) {
        if (ch.read(b, pos + b.position()) < 0) throw new IOException(path + " ends inside tensor '" + t.name() + "'");
      }
    }
    return b.flip();
  }

  /**
   * Reads and validates the header: magic, version 3, every count and length bounded by the file
   * size before anything is allocated, known value types, tensor offsets contiguous and aligned and
   * their data inside the file.
   */
  public static GgufFile read(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      Cursor c = new Cursor(ch, path);
      long magic = c.u32();
      if (magic != GgufWriter.MAGIC) throw c.error("is not a GGUF file (magic 0x" + Long.toHexString(magic) + ", expected \"GGUF\")");
      long version = c.u32();
      if (version != 3) throw c.error("is GGUF version " + version + "; laketune reads version 3");
      long nTensors = c.count("tensor count", 8);
      long nKv = c.count("metadata count", 8);
      Map<String, GgufValue> kv = new LinkedHashMap<>();
      for (long i = 0; i < nKv; i++) {
        String key = c.string();
        GgufValueType type = c.valueType();
        GgufValue value;
        if (type == GgufValueType.ARRAY) {
          GgufValueType et = c.valueType();
          if (et == GgufValueType.ARRAY) throw c.error("has a nested array under '" + key + "', which laketune does not read");
          long n = c.count("array length of '" + key + "'", Math.max(1, et.size()));
          Object[] items = new Object[(int) n];
          for (int j = 0; j < n; j++) items[j] = c.scalar(et);
          value = new GgufValue(type, et, List.of(items));
        } else {
          value = new GgufValue(type, null, c.scalar(type));
        }
        if (kv.put(key, value) != null) throw c.error("has metadata key '" + key + "' twice");
      }
      long alignment = GgufWriter.ALIGNMENT;
      GgufValue a = kv.get("general.alignment");
      if (a != null) {
        alignment = a.asLong();
        if (a.type() != GgufValueType.UINT32 || alignment == 0 || (alignment & (alignment - 1)) != 0) {
          throw c.error("has general.alignment " + a.value() + "; it must be a u32 power of two");
        }
      }
      Map<String, TensorInfo> tensors = new LinkedHashMap<>();
      long expectedOffset = 0;
      for (long i = 0; i < nTensors; i++) {
        String name = c.string();
        long nDims = c.u32();
        if (nDims < 1 || nDims > 4) throw c.error("tensor '" + name + "' has " + nDims + " dimensions (1 to 4 allowed)");
        long[] ne = new long[(int) nDims];
        for (int d = 0; d < nDims; d++) {
          ne[d] = c.u64();
          if (ne[d] <= 0 || ne[d] > c.size) throw c.error("tensor '" + name + "' has dimension " + ne[d]);
        }
        long typeId = c.u32();
        GgmlType type = GgmlType.byId(typeId);
        long offset = c.u64();
        TensorInfo t = new TensorInfo(name, ne, typeId, type, offset);
        if (type != null) {
          if (!type.fitsRow(ne[0])) throw c.error("tensor '" + name + "' has rows of " + ne[0] + " that are not whole " + type + " blocks");
          if (offset != expectedOffset) {
            throw c.error("tensor '" + name + "' starts at data offset " + offset + ", expected " + expectedOffset);
          }
          expectedOffset = (offset + t.bytes() + alignment - 1) / alignment * alignment;
        } else {
          expectedOffset = -1;
        }
        if (tensors.put(name, t) != null) throw c.error("has tensor '" + name + "' twice");
      }
      long dataOffset = (c.pos + alignment - 1) / alignment * alignment;
      for (TensorInfo t : tensors.values()) {
        if (t.type() != null && dataOffset + t.offset() + t.bytes() > c.size) {
          throw c.error("ends before the data of tensor '" + t.name() + "' (shape " + Arrays.toString(t.shape()) + ")");
        }
      }
      return new GgufFile(path, version, kv, tensors, dataOffset);
    }
  }

  /** A bounds-checked little-endian reader over the file. */
  private static final class Cursor {
    final FileChannel ch;
    final Path path;
    final long size;
    long pos;
    final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    Cursor(FileChannel ch, Path path) throws IOException {
      this.ch = ch;
      this.path = path;
      this.size = ch.size();
    }

    IOException error(String what) {
      return new IOException(path + " " + what);
    }

    private ByteBuffer take(int n) throws IOException {
      if (pos + n > size) throw error("ends inside its header (at byte " + pos + ")");
      ByteBuffer b = n <= 8 ? buf.clear().limit(n) : ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
      while (b.hasRemaining()) {
        if (ch.read(b, pos + b.position()) < 0) throw error("ends inside its header");
      }
      pos += n;
      return b.flip();
    }

    long u32() throws IOException {
      return take(4).getInt() & 0xFFFF_FFFFL;
    }

    long u64() throws IOException {
      return take(8).getLong();
    }

    /** A count whose items take at least {@code minBytes} each: bounded by the bytes left. */
    long count(String what, int minBytes) throws IOException {
      long n = u64();
      if (n < 0 || n > (size - pos) / minBytes || n > Integer.MAX_VALUE - 8) {
        throw error("has a " + what + " of " + n + ", more than the file can hold");
      }
      return n;
    }

    String string() throws IOException {
      long n = u64();
      if (n < 0 || n > size - pos) throw error("ends inside its header: a string of " + n + " bytes at byte " + pos + " runs past the end");
      return new String(take((int) n).array(), 0, (int) n, java.nio.charset.StandardCharsets.UTF_8);
    }

    GgufValueType valueType() throws IOException {
      long id = u32();
      GgufValueType t = GgufValueType.byId(id);
      if (t == null) throw error("has an unknown metadata value type " + id + " at byte " + (pos - 4));
      return t;
    }

    Object scalar(GgufValueType t) throws IOException {
      return switch (t) {
        case UINT8 -> (long) (take(1).get() & 0xFF);
        case INT8 -> (long) take(1).get();
        case UINT16 -> (long) (take(2).getShort() & 0xFFFF);
        case INT16 -> (long) take(2).getShort();
        case UINT32 -> take(4).getInt() & 0xFFFF_FFFFL;
        case INT32 -> (long) take(4).getInt();
        case UINT64, INT64 -> take(8).getLong();
        case FLOAT32 -> take(4).getFloat();
        case FLOAT64 -> take(8).getDouble();
        case BOOL -> {
          byte b = take(1).get();
          if (b != 0 && b != 1) throw error("has a bool of value " + b);
          yield b == 1;
        }
        case STRING -> string();
        case ARRAY -> throw error("has a nested array");
      };
    }
  }
}
