package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The chunking arithmetic of the sharded path at sizes no test machine can train: a 10^10-element
 * vector (40 GB of fp32, 4.7 times 2^31) must be cut, owned and addressed without an int overflow.
 */
class ChunkingTest {
  static final long TEN_BILLION = 10_000_000_000L;

  @Test
  void tenBillionElementsAreCoveredExactlyOnceByChunksAndShards() {
    int chunk = 4_194_304;
    Chunking ch = new Chunking(TEN_BILLION, chunk, 7);
    assertEquals(2385, ch.chunks(), "ceil(10^10 / 2^22)");
    assertEquals(TEN_BILLION - 2384L * chunk, ch.chunkLength(2384), "the last chunk is the remainder");
    assertEquals(2384L * chunk, ch.chunkStart(2384), "chunk starts are longs past 2^31");
    long covered = 0, next = 0;
    for (int s = 0; s < ch.shards(); s++) {
      assertEquals(next, ch.shardStart(s), "shard " + s + " starts where the previous ended");
      for (int c = ch.firstChunk(s); c < ch.firstChunk(s + 1); c++) {
        assertEquals(s, ch.shardOf(c), "chunk " + c + " is owned by the shard that lists it");
        assertEquals(covered, ch.chunkStart(c));
        covered += ch.chunkLength(c);
      }
      next = ch.shardEnd(s);
      assertEquals(covered, next);
      // 2385 chunks over 7 shards: 340 or 341 each
      assertTrue(ch.chunksOf(s) == 340 || ch.chunksOf(s) == 341, "balanced: " + ch.chunksOf(s));
    }
    assertEquals(TEN_BILLION, covered);
    assertEquals(2384, ch.chunkOf(TEN_BILLION - 1));
    assertEquals(1_000_000_000L / chunk, ch.chunkOf(1_000_000_000L));
  }

  @Test
  void recordKeysAndTheirShardsHoldAtTenBillionElementsAndManyWorkers() {
    Chunking ch = new Chunking(TEN_BILLION, 1 << 12, 1000);
    int last = ch.chunks() - 1;
    assertEquals(2_441_407, ch.chunks());
    ShardKeys keys = new ShardKeys(ch, 1000);
    long k = ShardKeys.chunkKey(last, 999, 1000);
    assertTrue(k > Integer.MAX_VALUE, "keys are longs: " + k);
    assertEquals(last, ShardKeys.chunkOf(k, 1000));
    assertEquals(999, ShardKeys.workerOf(k, 1000));
    assertEquals(999, keys.getPartition(k));
    long r = ShardKeys.reportKey(999, 998, 1000);
    assertTrue(ShardKeys.isReport(r) && r < ShardKeys.chunkKey(0, 0, 1000), "reports sort before every chunk");
    assertEquals(999, keys.getPartition(r));
    assertEquals(998, ShardKeys.workerOf(r, 1000));
    assertTrue(ShardKeys.reportKey(5, 3, 1000) < ShardKeys.reportKey(5, 4, 1000), "reports sort in worker order");
  }

  @Test
  void fewerChunksThanShardsLeavesSomeShardsEmpty() {
    Chunking ch = new Chunking(10, 4, 5);
    assertEquals(3, ch.chunks());
    int owned = 0;
    for (int s = 0; s < 5; s++) owned += ch.chunksOf(s);
    assertEquals(3, owned);
    assertEquals(2, ch.chunkLength(2));
    assertEquals(10, ch.shardEnd(4));
  }

  @Test
  void chunkSizesThatWouldOverflowAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Chunking(TEN_BILLION, Chunking.MAX_CHUNK_ELEMENTS + 1, 2));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Chunking(Long.MAX_VALUE / 2, 1, 2));
    assertTrue(e.getMessage().contains("chunk_elements"), e.getMessage());
  }
}
