package io.laketune.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads tensors from one safetensors file into ND4J arrays.
 *
 * <p>{@link #open} validates the whole header (see {@link SafetensorsHeader}) before any tensor memory
 * is allocated. Tensors are then read with positional FileChannel reads in chunks of {@value
 * #CHUNK_BYTES} bytes straight into the array's native memory, converting the element type on the way
 * (e.g. BF16 on disk → FLOAT in memory); no tensor goes through a Java array, so tensors over 2 GB load
 * like any other. The file is not memory-mapped. Reads from several threads at once are safe.
 */
public final class SafetensorsReader implements Closeable {
  static {
    io.laketune.platform.NativeBuilds.initQuietly();
  }


  /** Bytes read per positional read: large enough for full disk speed, small enough to stay cached. */
  static final int CHUNK_BYTES = 8 << 20;

  /** Elements converted per step when the dtype changes: at most 8 MiB in and out, 16 MiB of scratch. */
  static final int CHUNK_ELEMENTS = 1 << 20;

  private final Path file;
  private final FileChannel channel;
  private final SafetensorsHeader header;

  private SafetensorsReader(Path file, FileChannel channel, SafetensorsHeader header) {
    this.file = file;
    this.channel = channel;
    this.header = header;
  }

  /** Opens {@code file} and validates its header; an invalid file is an IOException naming it. */
  public static SafetensorsReader open(Path file) throws IOException {
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "no such safetensors file; check the path.");
    }
    try {
      return new SafetensorsReader(file, channel, SafetensorsHeader.read(channel, file));
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /** The file this reader reads. */
  public Path path() {
    return file;
  }

  /** The header's "__metadata__" map, in file order (empty when absent). */
  public Map<String, String> metadata() {
    return header.metadata();
  }

  /** Every tensor, in the order their bytes lie in the file. */
  public List<TensorInfo> tensors() {
    return header.tensors();
  }

  /** Whether the file holds a tensor named {@code name}. */
  public boolean contains(String name) {
    return header.byName().containsKey(name);
  }

  /** The header entry of {@code name}; a missing key is an error naming the key and the file. */
  public TensorInfo info(String name) {
    TensorInfo t = header.byName().get(name);
    if (t == null) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' is not in " + file + " (it holds " + header.tensors().size()
              + " tensors); check the key name against the checkpoint.");
    }
    return t;
  }

  /** Reads {@code name} as an array of its own dtype (BF16 → BFLOAT16, F32 → FLOAT, ...). */
  public INDArray read(String name) throws IOException {
    TensorInfo t = info(name);
    requireConvertible(t);
    return read(name, t.dtype().toNd4j());
  }

  /** Reads {@code name} into a new c-order array of type {@code target}, converting element types. */
  public INDArray read(String name, DataType target) throws IOException {
    TensorInfo t = info(name);
    requireConvertible(t);
    DataType type = DType.fromNd4j(target).toNd4j();
    if (t.numel() == 0) {
      return Nd4j.create(type, t.shape());
    }
    INDArray out = Nd4j.createUninitialized(type, t.shape());
    fill(t, out);
    return out;
  }

  /**
   * Reads {@code name} into an existing array of the same shape (any dtype, any layout), e.g. a view
   * into a flat parameter buffer. Dense targets are filled in place without a temporary copy.
   */
  public void readInto(String name, INDArray target) throws IOException {
    TensorInfo t = info(name);
    requireConvertible(t);
    if (!Arrays.equals(t.shape(), target.shape())) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' in " + file + " has shape " + Arrays.toString(t.shape())
              + " but the target array has shape " + Arrays.toString(target.shape())
              + "; check the model config matches the checkpoint.");
    }
    if (t.numel() == 0) {
      return;
    }
    if (NativeBytes.isDense(target)) {
      fill(t, target);
    } else {
      target.assign(read(name, target.dataType()));
    }
  }

  /** The raw little-endian bytes of {@code name}, for tensors under 2 GB (larger: the buffer variant). */
  public byte[] readBytes(String name) throws IOException {
    TensorInfo t = info(name);
    if (t.byteLength() > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' in " + file + " has " + t.byteLength()
              + " bytes, more than a Java array holds; use read(name, type) or"
              + " readBytes(name, offset, buffer).");
    }
    ByteBuffer bytes = ByteBuffer.allocate((int) t.byteLength());
    SafetensorsHeader.readFully(channel, bytes, header.dataStart() + t.begin(), file);
    return bytes.array();
  }

  /**
   * Reads raw bytes of {@code name} starting {@code offset} bytes into the tensor until {@code buffer}
   * is full; for tensors of any size, including raw-only F8 ones.
   */
  public void readBytes(String name, long offset, ByteBuffer buffer) throws IOException {
    TensorInfo t = info(name);
    if (offset < 0 || offset + buffer.remaining() > t.byteLength()) {
      throw new IndexOutOfBoundsException(
          "bytes [" + offset + ", " + (offset + buffer.remaining()) + ") are outside tensor '" + name
              + "' of " + t.byteLength() + " bytes in " + file);
    }
    SafetensorsHeader.readFully(channel, buffer, header.dataStart() + t.begin() + offset, file);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  private void requireConvertible(TensorInfo t) throws IOException {
    if (t.dtype().isRawOnly()) {
      throw new IOException(
          "tensor '" + t.name() + "' in " + file + " is " + t.dtype().safetensorsName()
              + ", which laketune reads only as raw bytes; use readBytes, or convert the checkpoint to BF16.");
    }
  }

  /** Streams the tensor's bytes into a dense array, converting dtype chunk by chunk. */
  private void fill(TensorInfo t, INDArray out) throws IOException {
    DType from = t.dtype();
    DType to = DType.fromNd4j(out.dataType());
    long position = header.dataStart() + t.begin();
    if (from == to && (from.size() == 1 || ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN)) {
      long total = t.byteLength();
      for (long done = 0; done < total; ) {
        int n = (int) Math.min(CHUNK_BYTES, total - done);
        SafetensorsHeader.readFully(channel, NativeBytes.window(out, done, n), position + done, file);
        done += n;
      }
    } else {
      long numel = t.numel();
      int chunk = (int) Math.min(numel, CHUNK_ELEMENTS);
      ByteBuffer src = ByteBuffer.allocateDirect(chunk * from.size()).order(ByteOrder.LITTLE_ENDIAN);
      ElementConverter converter = new ElementConverter(chunk);
      for (long done = 0; done < numel; ) {
        int n = (int) Math.min(chunk, numel - done);
        src.clear().limit(n * from.size());
        SafetensorsHeader.readFully(channel, src, position + done * from.size(), file);
        src.flip();
        converter.convert(from, src, to, NativeBytes.window(out, done * to.size(), n * to.size()), n);
        done += n;
      }
    }
    NativeBytes.markHostWritten(out);
  }
}
