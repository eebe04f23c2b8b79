package io.laketune.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes tensors to a safetensors file that the Python safetensors library and transformers load.
 *
 * <p>Layout as the reference Rust implementation writes it: u64 little-endian header length N, then
 * compact JSON with "__metadata__" first and the tensors in insertion order, padded with spaces so that
 * N is a multiple of 8, then the tensors' bytes back to back in the same order. Metadata always holds
 * "format": "pt" unless set otherwise, since transformers refuses files without it.
 *
 * <p>Arrays are kept by reference and read when {@link #write} runs, streamed in chunks of {@value
 * #CHUNK_BYTES} bytes, so tensors over 2 GB are written without a full copy. Converting to BF16 or F16
 * rounds to nearest even exactly like torch's {@code .to(dtype)} (see {@link HalfFloats}).
 */
public final class SafetensorsWriter {
  static {
    io.laketune.platform.NativeBuilds.initQuietly();
  }


  /** Bytes converted and written per step. */
  static final int CHUNK_BYTES = 8 << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, String> metadata = new LinkedHashMap<>();
  private final Map<String, Entry> entries = new LinkedHashMap<>();

  /** One tensor to write: either an array (converted on write) or raw bytes. */
  private record Entry(DType dtype, long[] shape, long bytes, INDArray array, byte[] raw) {}

  public SafetensorsWriter() {
    metadata.put("format", "pt");
  }

  /** Sets one "__metadata__" entry (replacing "format" keeps its first position). */
  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(requireNonEmpty(key, "metadata key"), value == null ? "" : value);
    return this;
  }

  /** Sets several "__metadata__" entries in the map's iteration order. */
  public SafetensorsWriter metadata(Map<String, String> values) {
    values.forEach(this::metadata);
    return this;
  }

  /** Adds {@code array} stored in its own dtype (FLOAT → F32, BFLOAT16 → BF16, ...). */
  public SafetensorsWriter add(String name, INDArray array) {
    return add(name, array, DType.fromNd4j(array.dataType()));
  }

  /** Adds {@code array}, converted on write to {@code storeAs} (e.g. FLOAT array stored as BF16). */
  public SafetensorsWriter add(String name, INDArray array, DType storeAs) {
    DType.fromNd4j(array.dataType());
    if (storeAs.isRawOnly()) {
      throw new IllegalArgumentException(
          "cannot store tensor '" + name + "' as " + storeAs.safetensorsName()
              + "; laketune writes that dtype only from raw bytes (addRaw).");
    }
    long[] shape = array.shape();
    long bytes = Math.multiplyExact(array.length(), (long) storeAs.size());
    put(name, new Entry(storeAs, shape, bytes, array, null));
    return this;
  }

  /** Adds little-endian {@code bytes} holding a tensor of {@code dtype} and {@code shape} as they are. */
  public SafetensorsWriter addRaw(String name, DType dtype, long[] shape, byte[] bytes) {
    long numel = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor '" + name + "' has a negative dimension in " + Arrays.toString(shape) + ".");
      }
      numel = Math.multiplyExact(numel, d);
    }
    long expected = Math.multiplyExact(numel, (long) dtype.size());
    if (bytes.length != expected) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' is " + dtype.safetensorsName() + Arrays.toString(shape) + ", which needs "
              + expected + " bytes, but " + bytes.length + " were given.");
    }
    put(name, new Entry(dtype, shape.clone(), expected, null, bytes));
    return this;
  }

  /** Names added so far, in insertion (file) order. */
  public Set<String> names() {
    return Collections.unmodifiableSet(entries.keySet());
  }

  /** Bytes of tensor data (the file minus its header). */
  public long dataBytes() {
    long total = 0;
    for (Entry e : entries.values()) {
      total += e.bytes();
    }
    return total;
  }

  /** Size of the file {@link #write} produces: 8 + padded header + data. */
  public long fileSize() {
    return 8 + header().length + dataBytes();
  }

  /**
   * Writes the file to {@code file} through a temporary sibling that is renamed into place when
   * complete, so a crash never leaves a half-written file under the final name.
   */
  public void write(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Path tmp = parent.resolve("." + file.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      try (FileChannel channel =
          FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        write(Channels.newOutputStream(channel));
        channel.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Streams the whole file to {@code out}; does not close it. */
  public void write(OutputStream out) throws IOException {
    byte[] header = header();
    ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
    out.write(length.array());
    out.write(header);
    byte[] chunk = null;
    for (Entry e : entries.values()) {
      if (e.raw() != null) {
        out.write(e.raw());
      } else if (e.bytes() > 0) {
        if (chunk == null) {
          chunk = new byte[(int) Math.min(CHUNK_BYTES, Math.max(dataBytes(), 8))];
        }
        writeArray(e, out, chunk);
      }
    }
    out.flush();
  }

  /** Header JSON padded with spaces to a multiple of 8 bytes, offsets contiguous in insertion order. */
  byte[] header() {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
    metadata.forEach(meta::put);
    long offset = 0;
    for (Map.Entry<String, Entry> named : entries.entrySet()) {
      Entry e = named.getValue();
      ObjectNode t = root.putObject(named.getKey());
      t.put("dtype", e.dtype().safetensorsName());
      ArrayNode shape = t.putArray("shape");
      for (long d : e.shape()) {
        shape.add(d);
      }
      t.putArray("data_offsets").add(offset).add(offset + e.bytes());
      offset += e.bytes();
    }
    byte[] json;
    try {
      json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("could not serialise a safetensors header", e);
    }
    int padded = (json.length + 7) / 8 * 8;
    byte[] out = Arrays.copyOf(json, padded);
    Arrays.fill(out, json.length, padded, (byte) ' ');
    return out;
  }

  private void put(String name, Entry entry) {
    requireNonEmpty(name, "tensor name");
    if (name.equals(SafetensorsHeader.METADATA_KEY)) {
      throw new IllegalArgumentException(
          "'" + SafetensorsHeader.METADATA_KEY + "' is reserved; rename the tensor.");
    }
    if (entries.putIfAbsent(name, entry) != null) {
      throw new IllegalArgumentException("tensor '" + name + "' was added twice; each name must be unique.");
    }
  }

  private static String requireNonEmpty(String s, String what) {
    if (s == null || s.isEmpty()) {
      throw new IllegalArgumentException("a safetensors " + what + " must be a non-empty string.");
    }
    return s;
  }

  /** Streams one array's elements in c order, converted to the entry's dtype, through {@code chunk}. */
  private static void writeArray(Entry e, OutputStream out, byte[] chunk) throws IOException {
    INDArray array = NativeBytes.isDense(e.array()) ? e.array() : e.array().dup('c');
    NativeBytes.syncToHost(array);
    DType from = DType.fromNd4j(array.dataType());
    DType to = e.dtype();
    long numel = array.length();
    int perChunk = chunk.length / Math.max(from.size(), to.size());
    perChunk = (int) Math.min(perChunk, Math.min(numel, SafetensorsReader.CHUNK_ELEMENTS));
    ElementConverter converter = new ElementConverter(perChunk);
    ByteBuffer dst = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
    for (long done = 0; done < numel; ) {
      int n = (int) Math.min(perChunk, numel - done);
      ByteBuffer src = NativeBytes.window(array, done * from.size(), n * from.size());
      dst.clear();
      converter.convert(from, src, to, dst, n);
      out.write(chunk, 0, n * to.size());
      done += n;
    }
  }
}
