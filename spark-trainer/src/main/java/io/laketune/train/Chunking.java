package io.laketune.train;

import java.io.Serializable;

/**
 * How the sharded path cuts the flat trainable vector of {@code total} elements: into chunks of
 * {@code chunkElements} (the last one shorter), and the chunks into {@code shards} contiguous runs,
 * shard s owning chunks [floor(s C / S), floor((s + 1) C / S)) of the C chunks. Element offsets are
 * longs everywhere; only a chunk's own length is an int, so no Java array ever holds more than one
 * chunk and the vector itself may exceed 2^31 elements.
 *
 * <p>The layout depends only on (total, chunkElements, shards), never on task timing: a chunk's owner
 * and its bounds are the same on every executor and in every retry.
 */
record Chunking(long total, int chunkElements, int shards) implements Serializable {

  /** A chunk's payload must fit a Java byte[] at 4 bytes an element, with room to spare. */
  static final int MAX_CHUNK_ELEMENTS = 1 << 28;

  Chunking {
    if (total < 0) throw new IllegalArgumentException("a trainable vector cannot have " + total + " elements");
    if (chunkElements < 1 || chunkElements > MAX_CHUNK_ELEMENTS) {
      throw new IllegalArgumentException("chunk_elements must be in [1, " + MAX_CHUNK_ELEMENTS + "], not " + chunkElements);
    }
    if (shards < 1) throw new IllegalArgumentException("there must be at least one shard, not " + shards);
    long chunks = (total + chunkElements - 1) / chunkElements;
    if (chunks > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(total + " elements in chunks of " + chunkElements + " make " + chunks
          + " chunks, more than 2^31 - 1; raise laketune.train.sync.chunk_elements");
    }
  }

  /** Number of chunks C. */
  int chunks() {
    return (int) ((total + chunkElements - 1) / chunkElements);
  }

  /** First element of chunk c. */
  long chunkStart(int c) {
    return (long) c * chunkElements;
  }

  /** Elements in chunk c: chunkElements except for the last chunk. */
  int chunkLength(int c) {
    return (int) (Math.min(total, chunkStart(c) + chunkElements) - chunkStart(c));
  }

  /** The chunk holding element i. */
  int chunkOf(long element) {
    return (int) (element / chunkElements);
  }

  /** First chunk of shard s; firstChunk(shards) = chunks(). */
  int firstChunk(int s) {
    return (int) ((long) s * chunks() / shards);
  }

  /** Chunks owned by shard s (0 when there are fewer chunks than shards). */
  int chunksOf(int s) {
    return firstChunk(s + 1) - firstChunk(s);
  }

  /** The shard that owns chunk c: the largest s with firstChunk(s) <= c. */
  int shardOf(int c) {
    int lo = 0, hi = shards - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (firstChunk(mid) <= c) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First element of shard s. */
  long shardStart(int s) {
    return Math.min(total, chunkStart(firstChunk(s)));
  }

  /** One past the last element of shard s. */
  long shardEnd(int s) {
    return Math.min(total, chunkStart(firstChunk(s + 1)));
  }
}
