package io.laketune.nn;

import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Scaled dot-product attention with grouped key/value heads (GQA), HF's eager semantics
 * P = softmax(Q K^T * scale + bias), O = P V, computed in tiles as FlashAttention does: for each
 * block of queries, key/value blocks stream past with an online softmax (running row max m and
 * row sum l), so no T×T array exists. Backward recomputes each tile's probabilities from q, k and
 * the saved m and l. Tiles the {@link AttentionMask} marks SKIP (the causal upper triangle, other
 * documents of a packed row, keys behind a sliding window) are never computed. Projections and
 * RoPE live outside.
 *
 * <p>Shapes: q [N, H*D], k and v [N, Hkv*D] with N = B*T (rows b-major); output [N, H*D]. Query
 * head h reads key/value head h / G, G = H / Hkv. Internally the G query heads of one key/value
 * head are stacked per position, [B, Hkv, T*G, D] (row t*G + g), so one GEMM serves the group
 * and a query block of the mask is a contiguous range of rows. The cache keeps q, k, v, the output
 * and the softmax statistics m, l [B, Hkv, T*G, 1]: O(T), never O(T²).
 */
public final class CausalSelfAttention {
  /** The workspace of one attention tile (pair): its scores, probabilities and dS. */
  public static final String TILE = "laketune-attn-tile";

  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final double scale;

  public CausalSelfAttention(int heads, int kvHeads, int headDim, double scale) {
    if (heads % kvHeads != 0) {
      throw new IllegalArgumentException("num_attention_heads (" + heads
          + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
    }
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.scale = scale;
  }

  public record Cache(INDArray q, INDArray k, INDArray v, INDArray out, INDArray max, INDArray sum,
      AttentionMask mask) {}

  /** [N, heads*D] → [B, heads, T, D], contiguous. */
  static INDArray toHeads(INDArray x, int batch, int time, int heads, int headDim) {
    return x.reshape('c', batch, time, heads, headDim).permute(0, 2, 1, 3).dup('c');
  }

  /** [B, heads, T, D] → [N, heads*D], contiguous. */
  static INDArray fromHeads(INDArray x, int batch, int time, int heads, int headDim) {
    return x.permute(0, 2, 1, 3).dup('c').reshape('c', (long) batch * time, (long) heads * headDim);
  }

  /** Query-shaped [N, H*D] → [B, Hkv, T*G, D], contiguous. */
  private INDArray toGroups(INDArray x, int batch, int time) {
    int g = heads / kvHeads;
    return x.reshape('c', batch, time, kvHeads, g, headDim).permute(0, 2, 1, 3, 4).dup('c')
        .reshape('c', batch, kvHeads, (long) time * g, headDim);
  }

  private INDArray fromGroups(INDArray x, int batch, int time) {
    int g = heads / kvHeads;
    return x.reshape('c', batch, kvHeads, time, g, headDim).permute(0, 2, 1, 3, 4).dup('c')
        .reshape('c', (long) batch * time, (long) heads * headDim);
  }

  static INDArray slice(INDArray x4, int b, int h) {
    return x4.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.all(), NDArrayIndex.all());
  }

  /** Rows [from, to) of a 2-D c-order matrix, as a view. */
  private static INDArray rows(INDArray x2, long from, long to) {
    return x2.get(NDArrayIndex.interval(from, to), NDArrayIndex.all());
  }

  public INDArray forward(INDArray q2, INDArray k2, INDArray v2, AttentionMask mask, Cache[] cacheOut) {
    int batch = mask.batch(), time = mask.time(), g = heads / kvHeads, blk = mask.block();
    INDArray q = toGroups(q2, batch, time);
    INDArray k = toHeads(k2, batch, time, kvHeads, headDim);
    INDArray v = toHeads(v2, batch, time, kvHeads, headDim);
    INDArray out = Nd4j.zeros(q.dataType(), batch, kvHeads, (long) time * g, headDim);
    INDArray max = Nd4j.create(q.dataType(), batch, kvHeads, (long) time * g, 1);
    INDArray sum = Nd4j.create(q.dataType(), batch, kvHeads, (long) time * g, 1);
    boolean fused = FloatKernels.dense(q, k, v);
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < kvHeads; h++) {
        INDArray qh = slice(q, b, h), kh = slice(k, b, h), vh = slice(v, b, h);
        INDArray oh = slice(out, b, h), mh = slice(max, b, h), lh = slice(sum, b, h);
        for (int i = 0; i < mask.blocks(); i++) {
          long r0 = (long) i * blk * g, r1 = r0 + (long) mask.span(i) * g;
          INDArray qi = rows(qh, r0, r1), oi = rows(oh, r0, r1), m = rows(mh, r0, r1), l = rows(lh, r0, r1);
          m.assign(Double.NEGATIVE_INFINITY);
          l.assign(0.0);
          for (int j = 0; j < mask.blocks(); j++) {
            byte kind = mask.kind(b, i, j);
            if (kind == AttentionMask.SKIP) continue;
            try (MemoryWorkspace ws = Workspaces.open(TILE)) {
              long c0 = (long) j * blk, c1 = c0 + mask.span(j);
              INDArray s = Nd4j.create(q.dataType(), r1 - r0, c1 - c0);
              Nd4j.gemm(qi, rows(kh, c0, c1), s, false, true, scale, 0.0);
              INDArray bias = kind == AttentionMask.PARTIAL ? mask.bias(b, i, j) : null;
              if (fused) {
                FloatKernels.onlineSoftmaxTile(FloatKernels.buffer(s), bias == null ? null : FloatKernels.buffer(bias),
                    (int) (r1 - r0), (int) (c1 - c0), FloatKernels.buffer(m), FloatKernels.buffer(l),
                    FloatKernels.buffer(oi), headDim);
              } else {
                if (bias != null) s.addi(bias);
                INDArray mNew = Transforms.max(s.max(true, 1), m, false);
                INDArray alpha = Transforms.exp(m.sub(mNew), false);
                Transforms.exp(s.subiColumnVector(mNew), false);
                CrossEntropy.flushTiny(s); // subnormal probabilities would slow the GEMMs
                l.muli(alpha).addi(s.sum(true, 1));
                oi.muliColumnVector(alpha);
                m.assign(mNew);
              }
              Nd4j.gemm(s, rows(vh, c0, c1), oi, false, false, 1.0, 1.0);
            }
          }
          oi.diviColumnVector(l);
        }
      }
    }
    if (cacheOut != null) cacheOut[0] = new Cache(q, k, v, out, max, sum, mask);
    return fromGroups(out, batch, time);
  }

  /** The gradients with respect to q, k and v in their 2-D layouts. */
  public record Grads(INDArray dq, INDArray dk, INDArray dv) {}

  /**
   * Per tile: P = exp(S - m) / l; dV += P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dO * O));
   * dQ += scale dS K; dK += scale dS^T Q. Key/value gradients of a shared head accumulate over
   * its query group (its rows of the stacked layout).
   */
  public Grads backward(INDArray dOut2, Cache c) {
    AttentionMask mask = c.mask();
    int batch = mask.batch(), time = mask.time(), g = heads / kvHeads, blk = mask.block();
    INDArray dOut = toGroups(dOut2, batch, time);
    INDArray delta = dOut.mul(c.out()).sum(true, 3);
    INDArray inv = Transforms.pow(c.sum(), -1.0, true);
    INDArray dq = Nd4j.zeros(dOut.dataType(), batch, kvHeads, (long) time * g, headDim);
    INDArray dk = Nd4j.zeros(dOut.dataType(), batch, kvHeads, time, headDim);
    INDArray dv = Nd4j.zeros(dOut.dataType(), batch, kvHeads, time, headDim);
    boolean fused = FloatKernels.dense(dOut, c.q(), c.k(), c.v());
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < kvHeads; h++) {
        INDArray qh = slice(c.q(), b, h), kh = slice(c.k(), b, h), vh = slice(c.v(), b, h);
        INDArray doh = slice(dOut, b, h), dqh = slice(dq, b, h), dkh = slice(dk, b, h), dvh = slice(dv, b, h);
        INDArray mh = slice(c.max(), b, h), ih = slice(inv, b, h), deltah = slice(delta, b, h);
        for (int i = 0; i < mask.blocks(); i++) {
          long r0 = (long) i * blk * g, r1 = r0 + (long) mask.span(i) * g;
          INDArray qi = rows(qh, r0, r1), doi = rows(doh, r0, r1), dqi = rows(dqh, r0, r1);
          INDArray m = rows(mh, r0, r1), li = rows(ih, r0, r1), di = rows(deltah, r0, r1);
          for (int j = 0; j < mask.blocks(); j++) {
            byte kind = mask.kind(b, i, j);
            if (kind == AttentionMask.SKIP) continue;
            try (MemoryWorkspace ws = Workspaces.open(TILE)) {
              long c0 = (long) j * blk, c1 = c0 + mask.span(j);
              INDArray kj = rows(kh, c0, c1), vj = rows(vh, c0, c1);
              INDArray p = Nd4j.create(dOut.dataType(), r1 - r0, c1 - c0);
              Nd4j.gemm(qi, kj, p, false, true, scale, 0.0);
              INDArray bias = kind == AttentionMask.PARTIAL ? mask.bias(b, i, j) : null;
              int nr = (int) (r1 - r0), nc = (int) (c1 - c0);
              if (fused) {
                FloatKernels.probabilitiesTile(FloatKernels.buffer(p), bias == null ? null : FloatKernels.buffer(bias),
                    nr, nc, FloatKernels.buffer(m), FloatKernels.buffer(li));
              } else {
                if (bias != null) p.addi(bias);
                Transforms.exp(p.subiColumnVector(m), false).muliColumnVector(li);
                CrossEntropy.flushTiny(p);
              }
              Nd4j.gemm(p, doi, rows(dvh, c0, c1), true, false, 1.0, 1.0);
              INDArray ds = Nd4j.create(dOut.dataType(), r1 - r0, c1 - c0);
              Nd4j.gemm(doi, vj, ds, false, true, 1.0, 0.0);
              if (fused) FloatKernels.softmaxGradTile(FloatKernels.buffer(ds), FloatKernels.buffer(p), FloatKernels.buffer(di), nr, nc);
              else ds.subiColumnVector(di).muli(p);
              Nd4j.gemm(ds, kj, dqi, false, false, scale, 1.0);
              Nd4j.gemm(ds, qi, rows(dkh, c0, c1), true, false, scale, 1.0);
            }
          }
        }
      }
    }
    return new Grads(fromGroups(dq, batch, time),
        fromHeads(dk, batch, time, kvHeads, headDim), fromHeads(dv, batch, time, kvHeads, headDim));
  }

  /**
   * Decoding with a KV cache, one sequence: queries of the tn new tokens at positions
   * start..start+tn-1 against the cached keys/values 0..start+tn-1 (the new ones already written).
   *
   * @param q2 [tn, H*D]; @param keys, values [Hkv, capacity, D]
   * @return [tn, H*D]
   */
  public INDArray attendCached(INDArray q2, INDArray keys, INDArray values, int start, int tn,
      int slidingWindow) {
    if (tn == 1) return attendOne(q2, keys, values, start, slidingWindow);
    int len = start + tn;
    INDArray q = toHeads(q2, 1, tn, heads, headDim);
    double[] bias = new double[tn * len];
    for (int i = 0; i < tn; i++) {
      for (int j = 0; j < len; j++) {
        int t = start + i;
        boolean visible = j <= t && (slidingWindow <= 0 || t - j < slidingWindow);
        bias[i * len + j] = visible ? 0.0 : AttentionMask.MASKED;
      }
    }
    INDArray biasArr = Nd4j.create(bias, new long[] {tn, len}, org.nd4j.linalg.api.buffer.DataType.DOUBLE)
        .castTo(q.dataType());
    INDArray out = Nd4j.create(q.dataType(), 1, heads, tn, headDim);
    INDArray s = Nd4j.create(q.dataType(), tn, len);
    int group = heads / kvHeads;
    for (int h = 0; h < heads; h++) {
      INDArray k = keys.get(NDArrayIndex.point(h / group), NDArrayIndex.interval(0, len), NDArrayIndex.all());
      INDArray v = values.get(NDArrayIndex.point(h / group), NDArrayIndex.interval(0, len), NDArrayIndex.all());
      Nd4j.gemm(slice(q, 0, h), k, s, false, true, scale, 0.0);
      s.addi(biasArr);
      Nd4j.exec(new SoftMax(s, s, 1));
      Nd4j.gemm(s, v, slice(out, 0, h), false, false, 1.0, 0.0);
    }
    return fromHeads(out, 1, tn, heads, headDim);
  }

  /**
   * One new token at position pos, every head in two batched products: query head h = kv * group + g
   * reads kv head kv, so q [1, H*D] is [Hkv, group, D] as it lies. Only the visible keys (the last
   * slidingWindow ones, or all) are read, so no mask is needed; the masked ones weigh exactly 0 in
   * the general path too.
   */
  private INDArray attendOne(INDArray q2, INDArray keys, INDArray values, int pos, int slidingWindow) {
    int from = slidingWindow > 0 ? Math.max(0, pos + 1 - slidingWindow) : 0;
    INDArray q = q2.reshape('c', kvHeads, heads / kvHeads, headDim);
    INDArray k = keys.get(NDArrayIndex.all(), NDArrayIndex.interval(from, pos + 1), NDArrayIndex.all());
    INDArray v = values.get(NDArrayIndex.all(), NDArrayIndex.interval(from, pos + 1), NDArrayIndex.all());
    INDArray s = Nd4j.matmul(q, k, false, true, false).muli(scale);
    Nd4j.exec(new SoftMax(s, s, 2));
    return Nd4j.matmul(s, v).reshape('c', 1, heads * headDim);
  }

  public int heads() {
    return heads;
  }

  public int kvHeads() {
    return kvHeads;
  }

  public int headDim() {
    return headDim;
  }

  public double scale() {
    return scale;
  }
}
