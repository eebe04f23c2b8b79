package io.laketune.nn;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which query may attend which key, for a batch of B rows of T tokens, cut into square blocks of
 * {@link #block()} positions for {@link CausalSelfAttention}'s tiles. Query t sees key s when s <= t
 * (causal), the key is not padding (attention_mask[b][s] == 1), both lie in the same packed document
 * (segment ids, when given), and t - s < slidingWindow (when > 0) — HF's sliding-window rule
 * {@code kv_idx > q_idx - window}.
 *
 * <p>Each (query block, key block) pair of a row is {@link #SKIP} (no pair visible: never computed),
 * {@link #FULL} (every pair visible: no bias needed) or {@link #PARTIAL} (an additive bias tile of
 * 0 and {@link #MASKED}). So causal attention skips the upper triangle, packed rows skip the blocks
 * between documents and a sliding window skips the keys behind it. Nothing of size T×T is held:
 * only the distinct partial tiles, each [block * group, block].
 *
 * <p>A query with no visible key at all (a left-padded one) sees every key with the same finite
 * bias, as in the dense formulation: its probabilities are uniform and free of NaN. Its query block
 * therefore computes every key block.
 */
public final class AttentionMask {
  public static final double MASKED = -1e30;
  /** Positions per tile side: large enough that per-op overhead is small next to the GEMMs. */
  public static final int DEFAULT_BLOCK = 512;

  public static final byte SKIP = 0;
  public static final byte FULL = 1;
  public static final byte PARTIAL = 2;

  private final int batch;
  private final int time;
  private final int block;
  private final int group;
  private final int[][] padding;
  private final int[][] segments;
  private final int window;
  private final byte[][] kinds; // [B][qBlock * blocks + kBlock]
  private final Map<Long, INDArray> tiles = new HashMap<>();

  /**
   * @param paddingMask [B][T] with 1 = real token, 0 = padding; null = no padding
   * @param segments [B][T] document ids of packed rows; null = one document per row
   * @param slidingWindow keys older than this many positions are hidden; 0 = unlimited
   * @param group query heads per key/value head: bias tiles have block * group rows (t-major)
   * @param block positions per tile side
   */
  public AttentionMask(int batch, int time, int[][] paddingMask, int[][] segments, int slidingWindow,
      int group, int block, DataType type) {
    if (block < 1) throw new IllegalArgumentException("attention block must be positive, got " + block);
    this.batch = batch;
    this.time = time;
    this.block = block;
    this.group = group;
    this.padding = paddingMask;
    this.segments = segments;
    this.window = slidingWindow;
    int nb = blocks();
    this.kinds = new byte[batch][nb * nb];
    Map<Key, INDArray> distinct = new HashMap<>();
    for (int b = 0; b < batch; b++) {
      boolean[] orphanBlock = orphanBlocks(b);
      for (int i = 0; i < nb; i++) {
        for (int j = 0; j < nb; j++) {
          byte kind = classify(b, i, j);
          if (kind == SKIP && orphanBlock[i]) kind = PARTIAL;
          kinds[b][i * nb + j] = kind;
          if (kind == PARTIAL) {
            float[] bias = biasTile(b, i, j);
            long cols = span(j);
            tiles.put(((long) b * nb + i) * nb + j, distinct.computeIfAbsent(new Key(bias),
                key -> Nd4j.create(bias, new long[] {bias.length / cols, cols}, 'c').castTo(type)));
          }
        }
      }
    }
  }

  public AttentionMask(int batch, int time, int[][] paddingMask, int[][] segments, int slidingWindow,
      int group, DataType type) {
    this(batch, time, paddingMask, segments, slidingWindow, group, DEFAULT_BLOCK, type);
  }

  /** A float[] compared by content, to keep one copy of each distinct tile. */
  private record Key(float[] v) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(v, k.v);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(v);
    }
  }

  public boolean visible(int b, int t, int s) {
    return s <= t
        && (padding == null || padding[b][s] != 0)
        && (segments == null || segments[b][s] == segments[b][t])
        && (window <= 0 || t - s < window);
  }

  /** Query blocks holding a query that sees no key at all. */
  private boolean[] orphanBlocks(int b) {
    boolean[] out = new boolean[blocks()];
    Map<Integer, Integer> lastReal = new HashMap<>(); // document → its latest real key so far
    for (int t = 0; t < time; t++) {
      int seg = segments == null ? 0 : segments[b][t];
      if (padding == null || padding[b][t] != 0) lastReal.put(seg, t);
      Integer s = lastReal.get(seg);
      if (s == null || (window > 0 && t - s >= window)) out[t / block] = true;
    }
    return out;
  }

  /** SKIP, FULL or PARTIAL from range bounds; PARTIAL whenever the bounds cannot decide. */
  private byte classify(int b, int i, int j) {
    int q0 = i * block, q1 = Math.min(time, q0 + block) - 1;
    int k0 = j * block, k1 = Math.min(time, k0 + block) - 1;
    if (k0 > q1) return SKIP;
    if (window > 0 && q0 - k1 >= window) return SKIP;
    int real = 0;
    for (int s = k0; s <= k1; s++) real += padding == null || padding[b][s] != 0 ? 1 : 0;
    if (real == 0) return SKIP;
    boolean full = k1 <= q0 && (window <= 0 || q1 - k0 < window) && real == k1 - k0 + 1;
    if (segments != null) {
      int[] qs = range(segments[b], q0, q1), ks = range(segments[b], k0, k1);
      if (qs[1] < ks[0] || ks[1] < qs[0]) return SKIP;
      full &= qs[0] == qs[1] && ks[0] == ks[1] && qs[0] == ks[0];
    }
    return full ? FULL : PARTIAL;
  }

  private static int[] range(int[] a, int from, int to) {
    int lo = Integer.MAX_VALUE, hi = Integer.MIN_VALUE;
    for (int t = from; t <= to; t++) {
      lo = Math.min(lo, a[t]);
      hi = Math.max(hi, a[t]);
    }
    return new int[] {lo, hi};
  }

  /** The bias of one tile, [span(i) * group, span(j)], rows t-major then group member. */
  private float[] biasTile(int b, int i, int j) {
    int q0 = i * block, k0 = j * block, nq = span(i), nk = span(j);
    float[] bias = new float[nq * group * nk];
    for (int a = 0; a < nq; a++) {
      int row = a * group * nk;
      for (int c = 0; c < nk; c++) bias[row + c] = visible(b, q0 + a, k0 + c) ? 0f : (float) MASKED;
      for (int g = 1; g < group; g++) System.arraycopy(bias, row, bias, row + g * nk, nk);
    }
    return bias;
  }

  public int batch() {
    return batch;
  }

  public int time() {
    return time;
  }

  public int block() {
    return block;
  }

  public int group() {
    return group;
  }

  /** Number of blocks along T. */
  public int blocks() {
    return (time + block - 1) / block;
  }

  /** Positions in block i (the last one may be short). */
  public int span(int i) {
    return Math.min(time, (i + 1) * block) - i * block;
  }

  public byte kind(int b, int i, int j) {
    return kinds[b][i * blocks() + j];
  }

  /** The bias tile of a PARTIAL pair. */
  public INDArray bias(int b, int i, int j) {
    return tiles.get(((long) b * blocks() + i) * blocks() + j);
  }

  /** Fraction of (query, key) tiles computed, over all rows: 1 = dense. */
  public double computedFraction() {
    long n = 0;
    for (byte[] row : kinds) for (byte k : row) n += k == SKIP ? 0 : 1;
    return (double) n / ((long) batch * blocks() * blocks());
  }

  /** Bytes held by the distinct bias tiles. */
  public long tileBytes() {
    return tiles.values().stream().distinct().mapToLong(t -> t.length() * t.dataType().width()).sum();
  }

  /**
   * The dense additive bias [B, 1, T, T] with the same rule, for the dense reference and tests.
   */
  public static INDArray build(int batch, int time, int[][] paddingMask, int[][] segments,
      int slidingWindow, DataType type) {
    double[] bias = new double[batch * time * time];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < time; t++) {
        int row = (b * time + t) * time;
        for (int s = 0; s < time; s++) {
          boolean visible = s <= t
              && (paddingMask == null || paddingMask[b][s] != 0)
              && (segments == null || segments[b][s] == segments[b][t])
              && (slidingWindow <= 0 || t - s < slidingWindow);
          bias[row + s] = visible ? 0.0 : MASKED;
        }
      }
    }
    return Nd4j.create(bias, new long[] {batch, 1, time, time}, DataType.DOUBLE).castTo(type);
  }
}
