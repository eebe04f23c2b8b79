package io.laketune.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and validates the header of a safetensors file before anything is allocated from it.
 *
 * <p>Layout: 8 bytes u64 little endian N, then N bytes of UTF-8 JSON (often padded with spaces), then
 * the data section. The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets relative to the data section) and may hold "__metadata__", a string → string map. As in the
 * reference Rust implementation, N is at most 100,000,000 and the tensors must tile the data section
 * exactly: no gaps, no overlaps, nothing after the last tensor. Every violation is an IOException whose
 * message names the file, the tensor when there is one, and what to do.
 */
public record SafetensorsHeader(
    long headerLength, Map<String, String> metadata, List<TensorInfo> tensors, Map<String, TensorInfo> byName) {

  /** Upper bound on N, the same as the Rust implementation's MAX_HEADER_SIZE. */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  static final String METADATA_KEY = "__metadata__";

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private static final String FIX = "; re-download or re-save it.";

  /** Bytes from the start of the file to the start of the data section: 8 + N. */
  public long dataStart() {
    return 8 + headerLength;
  }

  /** Reads the header of {@code file} through {@code channel} and checks it against the file's size. */
  static SafetensorsHeader read(FileChannel channel, Path file) throws IOException {
    long fileSize = channel.size();
    if (fileSize < 8) {
      throw new IOException(
          file + " is not a safetensors file: it has " + fileSize
              + " bytes, fewer than the 8-byte header length" + FIX);
    }
    ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, prefix, 0, file);
    long n = prefix.getLong(0);
    if (n < 0 || n > MAX_HEADER_BYTES) {
      throw new IOException(
          file + " declares a " + Long.toUnsignedString(n) + "-byte header, more than the "
              + MAX_HEADER_BYTES + " bytes safetensors allows, so it is corrupt or not safetensors"
              + FIX);
    }
    if (n > fileSize - 8) {
      throw new IOException(
          file + " is truncated: its header needs " + n + " bytes after the first 8 but the file has "
              + fileSize + " bytes" + FIX);
    }
    ByteBuffer json = ByteBuffer.allocate((int) n);
    readFully(channel, json, 8, file);
    return parse(json.array(), fileSize, file);
  }

  /** Parses header JSON bytes of a file of {@code fileSize} bytes; see the class comment for the checks. */
  public static SafetensorsHeader parse(byte[] json, long fileSize, Path file) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JacksonException e) {
      throw new IOException(
          file + " has a header that is not valid JSON (" + e.getOriginalMessage() + ")" + FIX, e);
    }
    if (root == null || !root.isObject()) {
      throw new IOException(file + " has a header that is not a JSON object" + FIX);
    }
    long dataSize = fileSize - 8 - json.length;
    Map<String, String> metadata = new LinkedHashMap<>();
    List<TensorInfo> tensors = new ArrayList<>();
    Map<String, TensorInfo> byName = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (field.getKey().equals(METADATA_KEY)) {
        readMetadata(field.getValue(), metadata, file);
      } else {
        TensorInfo t = readTensor(field.getKey(), field.getValue(), dataSize, fileSize, json.length, file);
        tensors.add(t);
        byName.put(t.name(), t);
      }
    }
    tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    checkTiling(tensors, dataSize, file);
    return new SafetensorsHeader(
        json.length,
        Collections.unmodifiableMap(metadata),
        Collections.unmodifiableList(tensors),
        Collections.unmodifiableMap(byName));
  }

  private static void readMetadata(JsonNode node, Map<String, String> metadata, Path file) throws IOException {
    if (!node.isObject()) {
      throw new IOException(
          file + ": " + METADATA_KEY + " must be a JSON object of strings but is " + node.getNodeType()
              + "; re-save the file with string metadata.");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new IOException(
            file + ": " + METADATA_KEY + " key '" + e.getKey() + "' holds " + e.getValue().getNodeType()
                + " but metadata values must be strings; re-save the file with string metadata.");
      }
      metadata.put(e.getKey(), e.getValue().textValue());
    }
  }

  private static TensorInfo readTensor(
      String name, JsonNode node, long dataSize, long fileSize, long headerLength, Path file)
      throws IOException {
    String where = file + ": tensor '" + name + "'";
    if (!node.isObject()) {
      throw new IOException(where + " is not a JSON object with dtype, shape and data_offsets" + FIX);
    }
    JsonNode dtypeNode = node.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw new IOException(where + " has no string 'dtype'" + FIX);
    }
    DType dtype = DType.fromSafetensors(dtypeNode.textValue(), name, file);
    long[] shape =
        readLongs(node.get("shape"), -1, where + " has a 'shape' that is not a list of non-negative integers");
    long[] offsets =
        readLongs(
            node.get("data_offsets"), 2, where + " has 'data_offsets' that are not two non-negative integers");
    long begin = offsets[0];
    long end = offsets[1];
    if (end < begin) {
      throw new IOException(
          where + " has data_offsets [" + begin + ", " + end + "] that end before they begin" + FIX);
    }
    long numel = 1;
    long bytes;
    try {
      for (long d : shape) {
        numel = Math.multiplyExact(numel, d);
      }
      bytes = Math.multiplyExact(numel, (long) dtype.size());
    } catch (ArithmeticException e) {
      throw new IOException(
          where + " has a shape whose byte size overflows 64 bits, so the header is corrupt" + FIX, e);
    }
    if (end - begin != bytes) {
      throw new IOException(
          where + " is " + dtype.safetensorsName() + Arrays.toString(shape) + " (" + bytes
              + " bytes) but its data_offsets [" + begin + ", " + end + "] span " + (end - begin)
              + " bytes" + FIX);
    }
    if (end > dataSize) {
      throw new IOException(
          file + " is truncated: tensor '" + name + "' ends at byte " + (8 + headerLength + end)
              + " but the file has " + fileSize + " bytes" + FIX);
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  /** A JSON array of non-negative integers that fit in a long, of {@code length} entries unless it is -1. */
  private static long[] readLongs(JsonNode node, int length, String error) throws IOException {
    if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
      throw new IOException(error + FIX);
    }
    long[] out = new long[node.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode v = node.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
        throw new IOException(error + FIX);
      }
      out[i] = v.longValue();
    }
    return out;
  }

  /** Sorted by begin, each tensor must start where the previous ended, and the last end the data. */
  private static void checkTiling(List<TensorInfo> sorted, long dataSize, Path file) throws IOException {
    long covered = 0;
    TensorInfo previous = null;
    for (TensorInfo t : sorted) {
      if (t.begin() < covered) {
        throw new IOException(
            file + ": tensors '" + previous.name() + "' [" + previous.begin() + ", " + previous.end()
                + ") and '" + t.name() + "' [" + t.begin() + ", " + t.end()
                + ") overlap in the data section, so the header is corrupt" + FIX);
      }
      if (t.begin() > covered) {
        throw new IOException(
            file + ": bytes [" + covered + ", " + t.begin() + ") of the data section, before tensor '"
                + t.name() + "', belong to no tensor, which safetensors forbids" + FIX);
      }
      covered = t.end();
      previous = t;
    }
    if (covered != dataSize) {
      throw new IOException(
          file + " has " + (dataSize - covered) + " bytes after the end of its last tensor, which"
              + " safetensors forbids" + FIX);
    }
  }

  /** Fills {@code buffer} from {@code position}; a file that ends first is reported as truncated. */
  static void readFully(FileChannel channel, ByteBuffer buffer, long position, Path file) throws IOException {
    long p = position;
    while (buffer.hasRemaining()) {
      int read = channel.read(buffer, p);
      if (read < 0) {
        throw new EOFException(
            file + " is truncated: it ended at byte " + p + " while " + buffer.remaining()
                + " more bytes were expected" + FIX);
      }
      p += read;
    }
  }
}
