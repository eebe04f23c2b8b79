package io.laketune.prep.read;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One line of JSONL as a JSON object: strict UTF-8 (a bad byte is invalid_utf8, not a replacement
 * character in the training data), one JSON value and nothing after it, and that value an object.
 * Not thread-safe (one per task).
 */
public final class JsonLine {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPORT)
      .onUnmappableCharacter(CodingErrorAction.REPORT);

  /** Decodes bytes[offset, offset + length) as UTF-8. */
  public String decode(byte[] bytes, int offset, int length) throws BadRecordException {
    try {
      return utf8.decode(ByteBuffer.wrap(bytes, offset, length)).toString();
    } catch (CharacterCodingException e) {
      throw new BadRecordException(RejectReason.INVALID_UTF8,
          "not valid UTF-8 (" + e.getClass().getSimpleName() + " near byte " + firstBadByte(bytes, offset, length) + ")");
    }
  }

  /** Parses a decoded line. */
  public JsonNode parse(String line) throws BadRecordException {
    if (line.isBlank()) {
      throw new BadRecordException(RejectReason.BLANK_LINE, "the line is empty");
    }
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
      throw new BadRecordException(RejectReason.MALFORMED_JSON, e.getOriginalMessage().lines().findFirst().orElse("") + where);
    }
    if (!node.isObject()) {
      throw new BadRecordException(RejectReason.NOT_AN_OBJECT,
          "the line is a JSON " + node.getNodeType().name().toLowerCase(Locale.ROOT) + ", not an object");
    }
    return node;
  }

  private static int firstBadByte(byte[] bytes, int offset, int length) {
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
    CharBuffer out = CharBuffer.allocate(length + 1);
    decoder.decode(in, out, true);
    return in.position() - offset;
  }
}
