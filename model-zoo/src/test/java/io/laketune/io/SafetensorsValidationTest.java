package io.laketune.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each malformed file is rejected on open with an IOException that names the file (and the tensor). */
class SafetensorsValidationTest {

  @TempDir Path dir;

  /** A file with header length {@code declared}, the given header text and {@code dataBytes} zero bytes. */
  private Path file(long declared, String header, int dataBytes) throws IOException {
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(declared).put(json);
    Path f = dir.resolve("model.safetensors");
    Files.write(f, b.array());
    return f;
  }

  private Path file(String header, int dataBytes) throws IOException {
    return file(header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
  }

  private static String tensor(String name, String dtype, String shape, long begin, long end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
  }

  /** Opens {@code f}, expects an IOException mentioning the file name and every given fragment. */
  private static void rejects(Path f, String... fragments) {
    IOException e = assertThrows(IOException.class, () -> SafetensorsReader.open(f).close());
    String m = e.getMessage();
    assertTrue(m.contains("model.safetensors"), m);
    for (String fragment : fragments) {
      assertTrue(m.contains(fragment), () -> "expected '" + fragment + "' in: " + m);
    }
  }

  @Test
  void shorterThanEightBytes() throws IOException {
    Path f = dir.resolve("model.safetensors");
    Files.write(f, new byte[] {1, 2, 3});
    rejects(f, "3 bytes");
  }

  @Test
  void headerOverTheLimit() throws IOException {
    rejects(file(200_000_000L, "{}", 0), "200000000-byte header");
    rejects(file(-1L, "{}", 0), "18446744073709551615-byte header");
  }

  @Test
  void headerLongerThanTheFile() throws IOException {
    rejects(file(1000, "{}", 0), "truncated");
  }

  @Test
  void tensorPastTheEndOfTheFile() throws IOException {
    rejects(file("{" + tensor("x", "F32", "[4]", 0, 16) + "}", 8), "truncated", "'x'");
  }

  @Test
  void overlappingTensors() throws IOException {
    rejects(file("{" + tensor("a", "F32", "[2]", 0, 8) + "," + tensor("b", "F32", "[2]", 4, 12) + "}", 12),
        "'a'", "'b'", "overlap");
  }

  @Test
  void gapBetweenTensorsAndTrailingBytes() throws IOException {
    rejects(file("{" + tensor("a", "F32", "[1]", 0, 4) + "," + tensor("b", "F32", "[1]", 8, 12) + "}", 12),
        "'b'", "[4, 8)");
    rejects(file("{" + tensor("a", "F32", "[1]", 0, 4) + "}", 10), "6 bytes after");
  }

  @Test
  void byteLengthDisagreesWithShape() throws IOException {
    rejects(file("{" + tensor("x", "BF16", "[3]", 0, 8) + "}", 8), "'x'", "6 bytes", "span 8 bytes");
  }

  @Test
  void shapeThatOverflows() throws IOException {
    String huge = "[4611686018427387904,4]";
    rejects(file("{" + tensor("x", "F32", huge, 0, 0) + "}", 0), "'x'", "overflows");
  }

  @Test
  void badJson() throws IOException {
    rejects(file("{\"x\":", 0), "not valid JSON");
    rejects(file("[1,2]", 0), "not a JSON object");
    rejects(file("{\"a\":1,\"a\":2}", 0), "not valid JSON");
    rejects(file("{} x", 0), "not valid JSON");
  }

  @Test
  void unknownDtype() throws IOException {
    rejects(file("{" + tensor("x", "F128", "[1]", 0, 16) + "}", 16), "'x'", "'F128'");
  }

  @Test
  void missingOrMistypedFields() throws IOException {
    rejects(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "'x'", "data_offsets");
    rejects(file("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'x'", "dtype");
    rejects(file("{" + tensor("x", "F32", "[-1]", 0, 4) + "}", 4), "'x'", "shape");
    rejects(file("{" + tensor("x", "F32", "[1.5]", 0, 4) + "}", 4), "'x'", "shape");
    rejects(file("{" + tensor("x", "F32", "[1]", 4, 0) + "}", 4), "'x'");
    rejects(file("{\"x\":7}", 0), "'x'");
  }

  @Test
  void metadataMustBeStrings() throws IOException {
    rejects(file("{\"__metadata__\":{\"step\":3}}", 0), "'step'");
    rejects(file("{\"__metadata__\":[]}", 0), "__metadata__");
  }

  @Test
  void missingFile() {
    rejects(dir.resolve("model.safetensors"), "no such");
  }

  @Test
  void paddedHeaderIsAccepted() throws IOException {
    SafetensorsReader.open(file("{" + tensor("x", "U8", "[2]", 0, 2) + "}      ", 2)).close();
  }
}
