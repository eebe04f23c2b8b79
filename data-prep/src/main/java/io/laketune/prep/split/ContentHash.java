package io.laketune.prep.split;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * The hash behind dedup and the content split: SHA-256 of the normalised content, its first 128
 * bits. Normalised means Unicode NFC, every run of white space one space, none at either end; the
 * U+0000 between fields of a record (see Rendered.content) is kept, so "a","b c" and "a b","c"
 * differ. Two records collide by chance with probability about n²/2¹²⁹.
 */
public final class ContentHash {

  /** Runs of Unicode white space, non-breaking spaces included. */
  private static final Pattern WHITE_SPACE = Pattern.compile("[\\s\\p{Z}]+", Pattern.UNICODE_CHARACTER_CLASS);

  private ContentHash() {}

  /** @return {high 64 bits, low 64 bits} */
  public static long[] of(String content) {
    return sha128(normalise(content));
  }

  public static String normalise(String content) {
    String[] fields = content.split("\0", -1);
    for (int i = 0; i < fields.length; i++) {
      fields[i] = WHITE_SPACE.matcher(Normalizer.normalize(fields[i], Normalizer.Form.NFC))
          .replaceAll(" ").strip();
    }
    return String.join("\0", fields);
  }

  /** First 128 bits of SHA-256 of the UTF-8 bytes. */
  public static long[] sha128(String text) {
    return sha128(text.getBytes(StandardCharsets.UTF_8));
  }

  /** First 128 bits of SHA-256 of the bytes, as {high 64 bits, low 64 bits}. */
  public static long[] sha128(byte[] bytes) {
    byte[] d;
    try {
      d = MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
    long hi = 0;
    long lo = 0;
    for (int i = 0; i < 8; i++) {
      hi = (hi << 8) | (d[i] & 0xFF);
      lo = (lo << 8) | (d[8 + i] & 0xFF);
    }
    return new long[] {hi, lo};
  }
}
