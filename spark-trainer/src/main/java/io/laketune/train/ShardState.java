package io.laketune.train;

import java.io.Serializable;

/**
 * What one shard holds between rounds, cached in its executor's block manager (memory, spilling to
 * disk): for each of its chunks the fp32 master values and the two AdamW moments, and the optimizer
 * step count they are at. In {@code gradients} mode the moments are this shard's own optimizer
 * state (1/N of the whole); in {@code parameters} mode they are the workers' averaged moments.
 * Never modified once built: a round makes a new state, so a retried task sees the old one intact.
 *
 * @param values [chunk][element] master values of chunks firstChunk .. firstChunk + values.length - 1
 * @param round the reports of the round that made this state (local SGD sends them to the driver)
 */
record ShardState(int shard, int firstChunk, float[][] values, float[][] m, float[][] v, long steps, RoundStats round)
    implements Serializable {

  int chunks() {
    return values.length;
  }

  /** Shards without chunks exist when there are fewer chunks than workers. */
  static ShardState empty(int shard, int firstChunk, long steps) {
    return new ShardState(shard, firstChunk, new float[0][], new float[0][], new float[0][], steps, RoundStats.NONE);
  }
}
