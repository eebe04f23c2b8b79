package io.laketune.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Writes a GGUF version 3 file as ggml's gguf.cpp and gguf-py lay it out, little endian:
 *
 * <pre>
 *   u32 magic "GGUF", u32 version 3, u64 tensor count, u64 metadata count
 *   metadata: (string key, u32 value type, value)*          in insertion order
 *   tensor infos: (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)*
 *   zero padding to a multiple of 32 (general.alignment, not written: 32 is the default)
 *   tensor data, each tensor at its offset from here, each padded with zeros to a multiple of 32
 * </pre>
 *
 * ne[0] is the innermost dimension: a PyTorch weight of shape [out, in] has ne = {in, out}. The
 * offsets are contiguous (ggml checks that each equals the padded end of the previous one).
 * Tensor values come from {@link TensorRows} suppliers that are called only when their tensor is
 * written, one at a time, and streamed in chunks; the file is written under a temporary name and
 * renamed when complete.
 */
public final class GgufWriter {
  public static final int MAGIC = 0x46554747;
  public static final int VERSION = 3;
  public static final int ALIGNMENT = 32;
  /** ggml's GGML_MAX_NAME is 64 including the terminating zero. */
  public static final int MAX_NAME_BYTES = 63;
  /** Values converted per chunk while streaming a tensor. */
  static final int CHUNK_FLOATS = 1 << 20;

  private record Entry(long[] shape, GgmlType type, Supplier<TensorRows> rows) {}

  private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
  private final Map<String, Entry> tensors = new LinkedHashMap<>();

  /** A writer whose first key is general.architecture, as llama.cpp's writer puts it. */
  public GgufWriter(String architecture) {
    put(GgufKeys.ARCHITECTURE, GgufValue.string(architecture));
  }

  /** Sets a metadata key (a key set twice keeps its first position and takes the new value). */
  public GgufWriter put(String key, GgufValue value) {
    if (key == null || key.isEmpty()) throw new IllegalArgumentException("a GGUF metadata key must not be empty");
    metadata.put(key, value);
    return this;
  }

  /**
   * Adds a tensor.
   *
   * @param shape row-major (PyTorch) shape, 1 to 4 dimensions; the last one is the row length
   * @param rows called once, when the tensor is written; must give shape's rows and row length
   */
  public GgufWriter addTensor(String name, long[] shape, GgmlType type, Supplier<TensorRows> rows) {
    int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
    if (nameBytes == 0 || nameBytes > MAX_NAME_BYTES) {
      throw new IllegalArgumentException("GGUF tensor name '" + name + "' must be 1 to " + MAX_NAME_BYTES + " bytes");
    }
    if (shape.length < 1 || shape.length > 4) {
      throw new IllegalArgumentException("GGUF tensor '" + name + "' must have 1 to 4 dimensions, got " + Arrays.toString(shape));
    }
    for (long d : shape) if (d <= 0) throw new IllegalArgumentException("GGUF tensor '" + name + "' has shape " + Arrays.toString(shape));
    if (!type.fitsRow(shape[shape.length - 1])) {
      throw new IllegalArgumentException("GGUF tensor '" + name + "' has rows of " + shape[shape.length - 1]
          + ", which is not a multiple of " + type + "'s block of " + type.blockSize());
    }
    if (tensors.putIfAbsent(name, new Entry(shape.clone(), type, rows)) != null) {
      throw new IllegalArgumentException("GGUF tensor '" + name + "' was added twice");
    }
    return this;
  }

  public Map<String, GgufValue> metadata() {
    return Collections.unmodifiableMap(metadata);
  }

  public List<String> tensorNames() {
    return new ArrayList<>(tensors.keySet());
  }

  /** The stored type of an added tensor. */
  public GgmlType tensorType(String name) {
    return tensors.get(name).type();
  }

  /** Bytes of a tensor's data, unpadded. */
  static long tensorBytes(long[] shape, GgmlType type) {
    long rows = 1;
    for (int i = 0; i < shape.length - 1; i++) rows = Math.multiplyExact(rows, shape[i]);
    return Math.multiplyExact(rows, type.rowBytes(shape[shape.length - 1]));
  }

  static long pad(long n) {
    return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  /** Writes the file and returns its size in bytes. */
  public long write(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) Files.createDirectories(parent);
    Path tmp = (parent == null ? Path.of(".") : parent).resolve("." + file.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      long size;
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        size = write(ch);
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return size;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private long write(FileChannel ch) throws IOException {
    byte[] header = header();
    long written = writeFully(ch, ByteBuffer.wrap(header));
    written += zeros(ch, pad(written) - written);
    float[] floats = null;
    ByteBuffer bytes = null;
    for (Map.Entry<String, Entry> named : tensors.entrySet()) {
      String name = named.getKey();
      Entry e = named.getValue();
      int cols = Math.toIntExact(e.shape()[e.shape().length - 1]);
      long rows = tensorBytes(e.shape(), GgmlType.F32) / 4 / cols;
      TensorRows src = e.rows().get();
      if (src.cols() != cols || src.rows() != rows) {
        throw new IllegalStateException("tensor '" + name + "' declared " + rows + " rows of " + cols
            + " but its values are " + src.rows() + " rows of " + src.cols());
      }
      int perChunk = (int) Math.max(1, Math.min(rows, CHUNK_FLOATS / cols));
      if (floats == null || floats.length < perChunk * cols) floats = new float[perChunk * cols];
      int chunkBytes = Math.toIntExact(perChunk * e.type().rowBytes(cols));
      if (bytes == null || bytes.capacity() < chunkBytes) bytes = ByteBuffer.allocate(chunkBytes).order(ByteOrder.LITTLE_ENDIAN);
      long start = written;
      for (long r = 0; r < rows; r += perChunk) {
        int n = (int) Math.min(perChunk, rows - r);
        src.read(r, n, floats);
        bytes.clear();
        TensorCodec.encode(e.type(), floats, n * cols, cols, bytes);
        bytes.flip();
        written += writeFully(ch, bytes);
      }
      long expected = tensorBytes(e.shape(), e.type());
      if (written - start != expected) throw new IllegalStateException("tensor '" + name + "' wrote " + (written - start) + " bytes, expected " + expected);
      written += zeros(ch, pad(written) - written);
    }
    return written;
  }

  /** Magic, version, counts, metadata and tensor infos. */
  byte[] header() {
    Bytes out = new Bytes();
    out.u32(MAGIC);
    out.u32(VERSION);
    out.u64(tensors.size());
    out.u64(metadata.size());
    for (Map.Entry<String, GgufValue> kv : metadata.entrySet()) {
      out.string(kv.getKey());
      GgufValue v = kv.getValue();
      out.u32(v.type().id());
      if (v.type() == GgufValueType.ARRAY) {
        out.u32(v.elementType().id());
        out.u64(v.asList().size());
        for (Object o : v.asList()) out.scalar(v.elementType(), o);
      } else {
        out.scalar(v.type(), v.value());
      }
    }
    long offset = 0;
    for (Map.Entry<String, Entry> named : tensors.entrySet()) {
      Entry e = named.getValue();
      out.string(named.getKey());
      out.u32(e.shape().length);
      for (int i = e.shape().length - 1; i >= 0; i--) out.u64(e.shape()[i]);
      out.u32(e.type().id());
      out.u64(offset);
      offset += pad(tensorBytes(e.shape(), e.type()));
    }
    return out.toByteArray();
  }

  private static long writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    long n = b.remaining();
    while (b.hasRemaining()) ch.write(b);
    return n;
  }

  private static long zeros(FileChannel ch, long n) throws IOException {
    if (n > 0) writeFully(ch, ByteBuffer.allocate((int) n));
    return n;
  }

  /** Little-endian serialisation of GGUF scalars and strings. */
  private static final class Bytes extends ByteArrayOutputStream {
    private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    void u32(long v) {
      scratch.clear();
      scratch.putInt((int) v);
      write(scratch.array(), 0, 4);
    }

    void u64(long v) {
      scratch.clear();
      scratch.putLong(v);
      write(scratch.array(), 0, 8);
    }

    void string(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      u64(b.length);
      write(b, 0, b.length);
    }

    void scalar(GgufValueType t, Object v) {
      scratch.clear();
      switch (t) {
        case UINT8, INT8 -> scratch.put((byte) (long) (Long) v);
        case UINT16, INT16 -> scratch.putShort((short) (long) (Long) v);
        case UINT32, INT32 -> scratch.putInt((int) (long) (Long) v);
        case UINT64, INT64 -> scratch.putLong((Long) v);
        case FLOAT32 -> scratch.putFloat((Float) v);
        case FLOAT64 -> scratch.putDouble((Double) v);
        case BOOL -> scratch.put((byte) ((Boolean) v ? 1 : 0));
        case STRING -> {
          string((String) v);
          return;
        }
        case ARRAY -> throw new IllegalArgumentException("nested GGUF arrays are not supported");
      }
      write(scratch.array(), 0, scratch.position());
    }
  }
}
