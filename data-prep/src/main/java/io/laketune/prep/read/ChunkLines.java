package io.laketune.prep.read;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The lines of one {@link Chunk}, numbered: the lines that start in its byte range (see Chunk),
 * decompressed where the file is compressed. A UTF-8 byte order mark at the start of a file is
 * dropped.
 */
public final class ChunkLines implements Closeable {

  private final Chunk chunk;
  private final InputStream in;
  private final LineReader reader;
  private final boolean ranged;
  private long pos;
  private long lineNumber;

  private ChunkLines(Chunk chunk, InputStream in, LineReader reader, boolean ranged) {
    this.chunk = chunk;
    this.in = in;
    this.reader = reader;
    this.ranged = ranged;
    this.pos = chunk.start();
    this.lineNumber = chunk.firstLine() - 1;
  }

  /** @param maxBytes lines longer than this are reported as too large, not kept */
  public static ChunkLines open(Chunk chunk, long maxBytes, Configuration conf) throws IOException {
    Path path = new Path(chunk.file().path());
    FileSystem fs = path.getFileSystem(conf);
    FSDataInputStream raw = fs.open(path);
    Decompression kind = Decompression.of(chunk.file().path());
    boolean ranged = kind == Decompression.NONE;
    InputStream in;
    try {
      if (ranged && chunk.start() > 0) {
        raw.seek(chunk.start());
      }
      in = kind.wrap(raw, conf);
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
    ChunkLines lines = new ChunkLines(chunk, in, new LineReader(in, maxBytes), ranged);
    if (ranged && chunk.start() > 0) {
      lines.pos += lines.reader.readLine();
    }
    return lines;
  }

  /** Reads the next line; false when the chunk has no more. */
  public boolean next() throws IOException {
    if (ranged && pos > chunk.end()) {
      return false;
    }
    long consumed = reader.readLine();
    if (consumed == 0) {
      return false;
    }
    pos += consumed;
    lineNumber++;
    return true;
  }

  /** 1-based line number in the file. */
  public long lineNumber() {
    return lineNumber;
  }

  /** The line's bytes (valid up to {@link #length()}); only its start when {@link #tooLarge()}. */
  public byte[] bytes() {
    return reader.bytes();
  }

  /** Start of the line's content: 3 after a UTF-8 byte order mark on a file's first line. */
  public int offset() {
    byte[] b = reader.bytes();
    boolean bom = lineNumber == 1 && chunk.start() == 0 && reader.length() >= 3
        && b[0] == (byte) 0xEF && b[1] == (byte) 0xBB && b[2] == (byte) 0xBF;
    return bom ? 3 : 0;
  }

  public int length() {
    return reader.length();
  }

  public boolean tooLarge() {
    return reader.tooLarge();
  }

  /** The line's full length in bytes. */
  public long size() {
    return reader.size();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
