package io.laketune.prep.read;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * Line numbers for files read in several chunks: a first pass counts the lines of each chunk
 * (a scan for '\n', far cheaper than tokenizing), and each chunk's first line follows from the
 * counts of the chunks before it in the same file. Rejects then name file and line exactly.
 */
public final class LineCounts {

  private LineCounts() {}

  /** Whether any file is read in more than one chunk, so that counting is needed. */
  public static boolean needed(List<Chunk> chunks) {
    for (Chunk chunk : chunks) {
      if (chunk.start() > 0) {
        return true;
      }
    }
    return false;
  }

  /** Number of lines that start in the chunk. */
  public static long count(Chunk chunk, Configuration conf) throws IOException {
    long n = 0;
    try (ChunkLines lines = ChunkLines.open(chunk, 0, conf)) {
      while (lines.next()) {
        n++;
      }
    }
    return n;
  }

  /** The chunks with firstLine set, given each chunk's line count (same order). */
  public static List<Chunk> number(List<Chunk> chunks, long[] counts) {
    List<Chunk> out = new ArrayList<>();
    long next = 1;
    for (int i = 0; i < chunks.size(); i++) {
      Chunk chunk = chunks.get(i);
      if (chunk.start() == 0) {
        next = 1;
      }
      out.add(chunk.withFirstLine(next));
      next += counts[i];
    }
    return out;
  }
}
