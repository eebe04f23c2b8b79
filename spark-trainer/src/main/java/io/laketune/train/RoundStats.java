package io.laketune.train;

import java.io.Serializable;

/**
 * What the workers of one round report besides their vectors: the summed token loss and labelled-token
 * count (for the exact token-weighted mean), local steps skipped as non-finite, and the slowest
 * worker's compute time and its gather (the wait for the parameters). Combined in worker-index order, so the sums are the same in every run.
 */
record RoundStats(double lossSum, long tokens, long skipped, long computeMillis, long gatherMillis, int workers)
    implements Serializable {
  static final RoundStats NONE = new RoundStats(0, 0, 0, 0, 0, 0);

  RoundStats plus(RoundStats o) {
    return new RoundStats(lossSum + o.lossSum, tokens + o.tokens, skipped + o.skipped,
        Math.max(computeMillis, o.computeMillis), Math.max(gatherMillis, o.gatherMillis), workers + o.workers);
  }

  byte[] toBytes() {
    return java.nio.ByteBuffer.allocate(44).putDouble(lossSum).putLong(tokens).putLong(skipped).putLong(computeMillis)
        .putLong(gatherMillis).putInt(workers).array();
  }

  static RoundStats fromBytes(byte[] b) {
    java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(b);
    return new RoundStats(in.getDouble(), in.getLong(), in.getLong(), in.getLong(), in.getLong(), in.getInt());
  }
}
