package io.laketune.train;

import java.io.Serializable;

/**
 * One shard's contribution to the gather that starts a round: its chunks of the planes the workers
 * need (values; in {@code parameters} mode also the two moments), as fp32 (sharing the shard's arrays,
 * no copy) or rounded to bf16 (half the bytes on the wire). Cached next to the shard's state and
 * fetched by every worker through Spark's block manager.
 */
final class ParamBlock implements Serializable {
  final int shard;
  final int firstChunk;
  /** The reports of the round that made the shard's state. */
  final RoundStats round;
  /** [plane][chunk][element] when the payload is fp32, else null. */
  private final float[][][] fp32;
  /** [plane][chunk][element] when the payload is bf16, else null. */
  private final short[][][] bf16;

  private ParamBlock(int shard, int firstChunk, RoundStats round, float[][][] fp32, short[][][] bf16) {
    this.shard = shard;
    this.firstChunk = firstChunk;
    this.round = round;
    this.fp32 = fp32;
    this.bf16 = bf16;
  }

  /** The first {@code planes} planes of a state (1: values; 3: values, m, v) in the given payload. */
  static ParamBlock of(ShardState s, int planes, TrainConfig.Payload payload) {
    float[][][] all = {s.values(), s.m(), s.v()};
    float[][][] f = new float[planes][][];
    System.arraycopy(all, 0, f, 0, planes);
    if (payload == TrainConfig.Payload.FP32) return new ParamBlock(s.shard(), s.firstChunk(), s.round(), f, null);
    short[][][] b = new short[planes][][];
    for (int p = 0; p < planes; p++) {
      b[p] = new short[f[p].length][];
      for (int c = 0; c < f[p].length; c++) b[p][c] = ChunkCodec.toBf16(f[p][c], f[p][c].length);
    }
    return new ParamBlock(s.shard(), s.firstChunk(), s.round(), null, b);
  }

  int chunks() {
    return fp32 != null ? fp32[0].length : bf16[0].length;
  }

  int planes() {
    return fp32 != null ? fp32.length : bf16.length;
  }

  int length(int chunk) {
    return fp32 != null ? fp32[0][chunk].length : bf16[0][chunk].length;
  }

  /** out[0, length) = plane p of the block's chunk i (its firstChunk + i of the vector), as fp32. */
  void read(int p, int i, float[] out) {
    if (fp32 != null) System.arraycopy(fp32[p][i], 0, out, 0, fp32[p][i].length);
    else ChunkCodec.fromBf16(bf16[p][i], out);
  }

  /** Bytes this block puts on the wire. */
  long payloadBytes() {
    long n = 0;
    for (int p = 0; p < planes(); p++) {
      for (int c = 0; c < chunks(); c++) n += (long) length(c) * (fp32 != null ? 4 : 2);
    }
    return n;
  }
}
