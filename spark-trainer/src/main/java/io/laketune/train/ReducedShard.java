package io.laketune.train;

import java.io.Serializable;

/**
 * One shard's gradient after the reduce-scatter of a round: for each of its chunks the sum over
 * workers (in worker order) divided by the round's labelled-token count, the sum of squares of each
 * chunk (double, for the global norm the driver forms before any shard updates), and the round's
 * worker reports. Cached on the shard's executor between the two jobs of the round.
 */
record ReducedShard(int shard, int firstChunk, float[][] grad, double[] sumSquares, RoundStats stats)
    implements Serializable {}
