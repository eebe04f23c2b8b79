package io.laketune.prep.read;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdOutputStream;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.compress.BZip2Codec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkLinesTest {

  private static final Configuration CONF = new Configuration();

  /** "line N" + padding of varying length, so lines straddle chunk borders in every way. */
  private static String corpus(int lines) {
    StringBuilder s = new StringBuilder();
    for (int i = 1; i <= lines; i++) {
      s.append("line ").append(i).append("x".repeat(i % 7)).append(i % 5 == 0 ? "\r\n" : "\n");
    }
    return s.toString();
  }

  /** Every line of the files, as "path:line:text", reading the chunks one after another. */
  private static List<String> readAll(List<InputFile> files, long splitBytes, long maxBytes) throws IOException {
    List<Chunk> chunks = InputFiles.chunks(files, splitBytes);
    long[] counts = new long[chunks.size()];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = LineCounts.count(chunks.get(i), CONF);
    }
    List<String> out = new ArrayList<>();
    for (Chunk chunk : LineCounts.number(chunks, counts)) {
      try (ChunkLines lines = ChunkLines.open(chunk, maxBytes, CONF)) {
        while (lines.next()) {
          String text = lines.tooLarge() ? "TOO LARGE " + lines.size()
              : new String(lines.bytes(), lines.offset(), lines.length() - lines.offset(), StandardCharsets.UTF_8);
          out.add(Path.of(java.net.URI.create(chunk.file().path())).getFileName() + ":" + lines.lineNumber() + ":" + text);
        }
      }
    }
    return out;
  }

  private static List<String> expected(String name, String text) {
    List<String> out = new ArrayList<>();
    int n = 1;
    for (String line : text.split("\n", -1)) {
      if (n > 1 && line.isEmpty() && text.endsWith("\n") && out.size() == text.split("\n").length) {
        break;
      }
      out.add(name + ":" + n++ + ":" + line.replace("\r", ""));
    }
    return out;
  }

  @Test
  void everyLineOnceWithItsNumberWhateverTheChunkSize(@TempDir Path dir) throws Exception {
    String text = corpus(200) + "last line without newline";
    Path file = dir.resolve("a.jsonl");
    Files.writeString(file, text);
    List<InputFile> files = InputFiles.expand(List.of(dir.toUri().toString()), CONF);
    List<String> want = expected("a.jsonl", text);
    for (long split : new long[] {1, 2, 3, 7, 13, 64, 1000, 1 << 20}) {
      assertEquals(want, readAll(files, split, 1 << 20), "split " + split);
    }
  }

  @Test
  void compressedFilesAreReadWhole(@TempDir Path dir) throws Exception {
    String text = corpus(50);
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve("b.jsonl.gz")))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
    BZip2Codec bzip2 = new BZip2Codec();
    bzip2.setConf(CONF);
    try (OutputStream out = bzip2.createOutputStream(Files.newOutputStream(dir.resolve("c.jsonl.bz2")))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
    try (OutputStream out = new ZstdOutputStream(Files.newOutputStream(dir.resolve("d.jsonl.zst")))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
    List<InputFile> files = InputFiles.expand(List.of(dir.resolve("*.jsonl.*").toUri().toString()), CONF);
    assertEquals(3, files.size());
    List<String> want = new ArrayList<>();
    for (String name : List.of("b.jsonl.gz", "c.jsonl.bz2", "d.jsonl.zst")) {
      want.addAll(expected(name, text));
    }
    assertEquals(want, readAll(files, 10, 1 << 20));
  }

  @Test
  void tooLargeLinesAreReportedNotKept(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("e.jsonl"), "short\n" + "y".repeat(5000) + "\nok\n");
    List<InputFile> files = InputFiles.expand(List.of(dir.toString()), CONF);
    assertEquals(List.of("e.jsonl:1:short", "e.jsonl:2:TOO LARGE 5000", "e.jsonl:3:ok"),
        readAll(files, 1 << 20, 100));
  }

  @Test
  void byteOrderMarkIsDroppedAndHiddenFilesSkipped(@TempDir Path dir) throws Exception {
    Files.write(dir.resolve("f.jsonl"), new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 'a', '\n'});
    Files.writeString(dir.resolve("_SUCCESS"), "");
    Files.writeString(dir.resolve(".f.jsonl.crc"), "x");
    assertEquals(List.of("f.jsonl:1:a"), readAll(InputFiles.expand(List.of(dir.toString()), CONF), 100, 100));
  }

  @Test
  void aPatternThatMatchesNothingIsAnError(@TempDir Path dir) {
    String message = assertThrows(IllegalArgumentException.class,
        () -> InputFiles.expand(List.of(dir.resolve("nope-*.jsonl").toString()), CONF)).getMessage();
    assertTrue(message.startsWith("laketune.prep.input: ") && message.contains("matches no file"), message);
  }

  @Test
  void jsonLineRejectsByReason() throws Exception {
    JsonLine json = new JsonLine();
    byte[] bad = {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, '"', '}'};
    assertEquals(RejectReason.INVALID_UTF8,
        assertThrows(BadRecordException.class, () -> json.decode(bad, 0, bad.length)).reason());
    assertEquals(RejectReason.MALFORMED_JSON, assertThrows(BadRecordException.class, () -> json.parse("{\"a\": ")).reason());
    assertEquals(RejectReason.MALFORMED_JSON, assertThrows(BadRecordException.class, () -> json.parse("{} {}")).reason());
    assertEquals(RejectReason.NOT_AN_OBJECT, assertThrows(BadRecordException.class, () -> json.parse("[1]")).reason());
    assertEquals(RejectReason.BLANK_LINE, assertThrows(BadRecordException.class, () -> json.parse("  ")).reason());
    assertEquals("b", json.parse("{\"a\": \"b\"}").get("a").textValue());
  }
}
