package io.laketune.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The tiled attention against the dense oracle ({@link DenseAttention}, the eager formulation),
 * output and all three gradients, across tile sizes that do and do not divide T, with every mask.
 */
class TiledAttentionTest {
  static final int B = 2, T = 37, H = 4;

  record Masks(String name, int[][] pad, int[][] seg, int window) {}

  static Masks[] masks() {
    int[][] leftPad = new int[B][T], rightPad = new int[B][T], seg = new int[B][T];
    for (int t = 0; t < T; t++) {
      leftPad[0][t] = t < 5 ? 0 : 1; // five orphan queries that see no key at all
      leftPad[1][t] = 1;
      rightPad[0][t] = 1;
      rightPad[1][t] = t < 30 ? 1 : 0;
      seg[0][t] = t < 9 ? 0 : t < 25 ? 1 : 2; // three packed documents
      seg[1][t] = t < 17 ? 4 : 7;
    }
    return new Masks[] {
        new Masks("causal", null, null, 0),
        new Masks("left padding", leftPad, null, 0),
        new Masks("right padding", rightPad, null, 0),
        new Masks("packed documents", null, seg, 0),
        new Masks("sliding window", null, null, 6),
        new Masks("padding, documents and window", leftPad, seg, 7),
    };
  }

  static double maxDiff(INDArray a, INDArray b) {
    return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
  }

  void compare(DataType type, int kvHeads, int d, double tol, boolean orphans, int... blocks) {
    Nd4j.getRandom().setSeed(11);
    CausalSelfAttention tiled = new CausalSelfAttention(H, kvHeads, d, 1.0 / Math.sqrt(d));
    DenseAttention dense = new DenseAttention(H, kvHeads, d, 1.0 / Math.sqrt(d));
    INDArray q = Nd4j.randn(type, B * T, H * d).muli(2), k = Nd4j.randn(type, B * T, kvHeads * d).muli(2);
    INDArray v = Nd4j.randn(type, B * T, kvHeads * d), dOut = Nd4j.randn(type, B * T, H * d);
    for (Masks m : masks()) {
      if (!orphans && m.pad() != null && m.pad()[0][0] == 0) continue;
      INDArray bias = AttentionMask.build(B, T, m.pad(), m.seg(), m.window(), type);
      DenseAttention.Cache[] dc = new DenseAttention.Cache[1];
      INDArray want = dense.forward(q, k, v, B, T, bias, dc);
      DenseAttention.Grads wg = dense.backward(dOut, dc[0]);
      for (int block : blocks) {
        AttentionMask mask = new AttentionMask(B, T, m.pad(), m.seg(), m.window(), H / kvHeads, block, type);
        CausalSelfAttention.Cache[] tc = new CausalSelfAttention.Cache[1];
        INDArray got = tiled.forward(q, k, v, mask, tc);
        CausalSelfAttention.Grads g = tiled.backward(dOut, tc[0]);
        String where = m.name() + ", block " + block + ", " + type + ", Hkv " + kvHeads;
        assertTrue(maxDiff(got, want) < tol, where + ": output differs by " + maxDiff(got, want));
        assertTrue(maxDiff(g.dq(), wg.dq()) < tol, where + ": dq differs by " + maxDiff(g.dq(), wg.dq()));
        assertTrue(maxDiff(g.dk(), wg.dk()) < tol, where + ": dk differs by " + maxDiff(g.dk(), wg.dk()));
        assertTrue(maxDiff(g.dv(), wg.dv()) < tol, where + ": dv differs by " + maxDiff(g.dv(), wg.dv()));
      }
    }
  }

  @Test
  void equalsDenseInFloat() {
    compare(DataType.FLOAT, 4, 8, 1e-4, true, 3, 8, 37); // 37 = one tile, as dense
    compare(DataType.FLOAT, 2, 8, 1e-4, true, 5, 16); // grouped key/value heads
  }

  @Test
  void equalsDenseInDouble() {
    // The dense oracle's own softmax turns a query with no visible key into NaN in double
    // precision, so left padding is compared in float only.
    compare(DataType.DOUBLE, 1, 5, 1e-10, false, 4, 13);
  }

  @Test
  void causalBlocksAboveTheDiagonalAreSkipped() {
    AttentionMask m = new AttentionMask(1, 16, null, null, 0, 1, 4, DataType.FLOAT);
    assertEquals(10.0 / 16, m.computedFraction(), 1e-12, "4x4 blocks: the lower triangle and diagonal");
    assertEquals(AttentionMask.FULL, m.kind(0, 3, 0));
    assertEquals(AttentionMask.PARTIAL, m.kind(0, 2, 2));
    assertEquals(AttentionMask.SKIP, m.kind(0, 1, 2));
    assertEquals(4 * 4 * 4, m.tileBytes(), "every diagonal tile is the same: stored once");
  }

  @Test
  void packedDocumentsSkipCrossDocumentBlocks() {
    int[][] seg = new int[1][16];
    for (int t = 0; t < 16; t++) seg[0][t] = t / 8;
    AttentionMask m = new AttentionMask(1, 16, null, seg, 0, 1, 4, DataType.FLOAT);
    assertEquals(AttentionMask.SKIP, m.kind(0, 2, 0), "document 1 never looks back into document 0");
    assertEquals(AttentionMask.SKIP, m.kind(0, 3, 1));
    assertEquals(AttentionMask.FULL, m.kind(0, 3, 2));
    assertEquals(6.0 / 16, m.computedFraction(), 1e-12);
  }

  @Test
  void slidingWindowSkipsBlocksBehindIt() {
    AttentionMask m = new AttentionMask(1, 16, null, null, 4, 1, 4, DataType.FLOAT);
    assertEquals(AttentionMask.SKIP, m.kind(0, 3, 1), "keys 4..7 are all older than 4 positions for 12..15");
    assertEquals(AttentionMask.PARTIAL, m.kind(0, 3, 2));
    assertEquals(7.0 / 16, m.computedFraction(), 1e-12);
  }
}
