package io.laketune.prep.read;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads '\n'-terminated lines of bytes and keeps at most maxBytes of each: a longer line is read
 * to its end and reported as too large, without the memory its length would take. A '\r' before
 * the '\n' is dropped.
 */
final class LineReader {

  private final InputStream in;
  private final long maxBytes;
  private final byte[] buffer = new byte[1 << 16];
  private int bufferPos;
  private int bufferEnd;
  private byte[] line = new byte[256];
  private int length;
  private long size;

  LineReader(InputStream in, long maxBytes) {
    this.in = in;
    this.maxBytes = maxBytes;
  }

  /**
   * Reads the next line.
   *
   * @return bytes consumed, newline included; 0 at the end of the input
   */
  long readLine() throws IOException {
    length = 0;
    size = 0;
    long consumed = 0;
    while (true) {
      if (bufferPos == bufferEnd) {
        bufferEnd = in.read(buffer);
        bufferPos = 0;
        if (bufferEnd <= 0) {
          bufferEnd = 0;
          break;
        }
      }
      int start = bufferPos;
      int newline = -1;
      for (int i = bufferPos; i < bufferEnd; i++) {
        if (buffer[i] == '\n') {
          newline = i;
          break;
        }
      }
      int stop = newline < 0 ? bufferEnd : newline;
      append(start, stop - start);
      consumed += stop - start;
      bufferPos = stop;
      if (newline >= 0) {
        bufferPos++;
        consumed++;
        break;
      }
    }
    if (size <= maxBytes && length > 0 && line[length - 1] == '\r') {
      length--;
      size--;
    }
    return consumed;
  }

  private void append(int from, int count) {
    size += count;
    int keep = (int) Math.max(0, Math.min(count, maxBytes + 1 - length));
    if (keep > 0) {
      if (length + keep > line.length) {
        line = Arrays.copyOf(line, (int) Math.min(Math.max(line.length * 2L, length + keep), maxBytes + 1));
      }
      System.arraycopy(buffer, from, line, length, keep);
      length += keep;
    }
  }

  /** Whether the last line is longer than maxBytes (then {@link #bytes()} holds only its start). */
  boolean tooLarge() {
    return size > maxBytes;
  }

  /** The last line's bytes, valid up to {@link #length()}, until the next read. */
  byte[] bytes() {
    return line;
  }

  int length() {
    return length;
  }

  /** Length of the last line in bytes, even when too large. */
  long size() {
    return size;
  }
}
