package io.laketune.prep.read;

import java.io.Serializable;

/**
 * A piece of an input file that one task reads: a byte range of an uncompressed file, or a whole
 * compressed file. Lines belong to the chunk they start in, as in Hadoop's LineRecordReader: a
 * chunk that does not start the file skips its first (partial) line and reads on past its end to
 * finish its last line.
 *
 * @param file the file
 * @param start first byte (0 for a whole file)
 * @param end end of the range (exclusive); the file length for a whole file
 * @param firstLine 1-based number of the first line that starts in this chunk
 */
public record Chunk(InputFile file, long start, long end, long firstLine) implements Serializable {

  public Chunk withFirstLine(long line) {
    return new Chunk(file, start, end, line);
  }
}
