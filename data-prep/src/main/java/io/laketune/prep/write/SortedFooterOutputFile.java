package io.laketune.prep.write;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.Util;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;

/**
 * A Parquet output file whose footer lists each column chunk's encodings in ascending order.
 * parquet-mr collects them in a HashSet of enum constants, whose order follows identity hash codes
 * and so changes from one JVM to the next: the same rows would give files that differ in a few
 * footer bytes between runs. Sorting the list (readers treat it as a set) makes the bytes a function
 * of the rows alone.
 *
 * <p>The stream holds back the last bytes written (between {@value #KEEP} and twice that), so at
 * close the footer — "PAR1"-terminated, its length before the magic — is in memory to be rewritten;
 * sorting keeps its length, so no offset moves. A footer larger than what is held back (thousands of
 * row groups) is written as parquet-mr made it.
 */
final class SortedFooterOutputFile implements OutputFile {

  /** Bytes held back at least: far more than the footer of a shard (a few KB). */
  static final int KEEP = 4 << 20;
  private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);

  private final OutputFile file;

  SortedFooterOutputFile(OutputFile file) {
    this.file = file;
  }

  @Override
  public PositionOutputStream create(long blockSizeHint) throws IOException {
    return new Stream(file.create(blockSizeHint));
  }

  @Override
  public PositionOutputStream createOrOverwrite(long blockSizeHint) throws IOException {
    return new Stream(file.createOrOverwrite(blockSizeHint));
  }

  @Override
  public boolean supportsBlockSize() {
    return file.supportsBlockSize();
  }

  @Override
  public long defaultBlockSize() {
    return file.defaultBlockSize();
  }

  @Override
  public String getPath() {
    return file.getPath();
  }

  /** The file's bytes with its footer's encodings lists sorted; the bytes as they are when it cannot. */
  static byte[] sortFooter(byte[] tail) throws IOException {
    int n = tail.length;
    if (n < 12 || !Arrays.equals(Arrays.copyOfRange(tail, n - 4, n), MAGIC)) {
      return tail;
    }
    int length = ByteBuffer.wrap(tail, n - 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    if (length <= 0 || length > n - 8) {
      return tail;
    }
    int start = n - 8 - length;
    FileMetaData footer = Util.readFileMetaData(new ByteArrayInputStream(tail, start, length));
    for (RowGroup group : footer.getRow_groups()) {
      for (ColumnChunk chunk : group.getColumns()) {
        if (chunk.isSetMeta_data() && chunk.getMeta_data().getEncodings() != null) {
          chunk.getMeta_data().getEncodings().sort(Comparator.comparingInt(Encoding::getValue));
        }
      }
    }
    ByteArrayOutputStream sorted = new ByteArrayOutputStream(length);
    Util.writeFileMetaData(footer, sorted);
    if (sorted.size() != length) {
      return tail;
    }
    byte[] out = tail.clone();
    System.arraycopy(sorted.toByteArray(), 0, out, start, length);
    return out;
  }

  /** Writes through, holding back the last bytes for {@link #sortFooter} at close. */
  private static final class Stream extends PositionOutputStream {
    private final PositionOutputStream out;
    private final byte[] held = new byte[2 * KEEP];
    private int count;
    private long position;
    private boolean closed;

    Stream(PositionOutputStream out) {
      this.out = out;
    }

    @Override
    public long getPos() {
      return position;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      position += len;
      while (len > 0) {
        if (count == held.length) {
          // Keep the newest KEEP bytes, pass the older ones on.
          out.write(held, 0, count - KEEP);
          System.arraycopy(held, count - KEEP, held, 0, KEEP);
          count = KEEP;
        }
        int n = Math.min(len, held.length - count);
        System.arraycopy(b, off, held, count, n);
        count += n;
        off += n;
        len -= n;
      }
    }

    @Override
    public void flush() throws IOException {
      // Held-back bytes stay until close; what was passed on is flushed.
      out.flush();
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        out.write(sortFooter(Arrays.copyOf(held, count)));
      } finally {
        out.close();
      }
    }
  }
}
