package io.laketune.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Vector API tile kernels against the scalar ones they replace: the same probabilities bit for
 * bit, the row sums to float rounding, on tiles whose widths are not a multiple of the vector width,
 * with masked (-1e30) scores, and rows where every score is masked.
 */
class VectorKernelsTest {
  static final int ROWS = 37, COLS = 45, D = 19;

  @Test
  void theBuildsJvmsRunTheVectorPath() {
    assertTrue(FloatKernels.VECTOR, "the test JVM runs without --add-modules=jdk.incubator.vector: "
        + "spark.java.options in the root pom must carry it, or attention runs its scalar kernels");
  }

  @Test
  void expIsTheScalarExpLaneByLane() {
    float[] xs = new float[4096];
    Random rnd = new Random(5);
    for (int i = 0; i < xs.length; i++) xs[i] = i < 16 ? -i * 0.5f : (float) (-rnd.nextDouble() * 95);
    xs[16] = Float.NEGATIVE_INFINITY;
    xs[17] = -87.33654f;
    xs[18] = -0f;
    int w = FloatVector.SPECIES_PREFERRED.length();
    float[] got = new float[xs.length];
    for (int i = 0; i < xs.length; i += w) {
      VectorKernels.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, xs, i)).intoArray(got, i);
    }
    for (int i = 0; i < xs.length; i++) {
      float want = FloatKernels.exp(xs[i]);
      if (xs[i] < -87.33654f) {
        assertTrue(want == 0f && got[i] < FloatKernels.TINY, "e^" + xs[i] + " = " + got[i]);
      } else {
        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), "e^" + xs[i]);
      }
    }
    assertEquals(1f, got[0]);
  }

  static float[] scores(Random rnd, boolean masked) {
    float[] s = new float[ROWS * COLS];
    for (int i = 0; i < s.length; i++) s[i] = (float) (rnd.nextGaussian() * 4);
    if (masked) {
      for (int i = 0; i < s.length; i++) if (i % COLS > i / COLS) s[i] = (float) AttentionMask.MASKED;
      for (int c = 0; c < COLS; c++) s[5 * COLS + c] = (float) AttentionMask.MASKED; // a row with no key
    }
    return s;
  }

  static FloatBuffer buf(float[] a) {
    return FloatBuffer.wrap(a.clone());
  }

  static float[] arr(FloatBuffer b) {
    float[] a = new float[b.capacity()];
    b.get(0, a);
    return a;
  }

  @Test
  void onlineSoftmaxMatchesTheScalarKernel() {
    Random rnd = new Random(7);
    for (boolean withBias : new boolean[] {false, true}) {
      float[] s = scores(rnd, false), bias = withBias ? scores(rnd, true) : null;
      for (int i = 0; bias != null && i < bias.length; i++) if (bias[i] != (float) AttentionMask.MASKED) bias[i] = 0f;
      float[] m = new float[ROWS], l = new float[ROWS], o = new float[ROWS * D];
      for (int r = 0; r < ROWS; r++) {
        m[r] = r % 3 == 0 ? Float.NEGATIVE_INFINITY : (float) rnd.nextGaussian() * 6; // first tile, later tiles
        l[r] = r % 3 == 0 ? 0f : 1f + rnd.nextFloat() * 20;
      }
      for (int i = 0; i < o.length; i++) o[i] = (float) rnd.nextGaussian();
      FloatBuffer s1 = buf(s), m1 = buf(m), l1 = buf(l), o1 = buf(o);
      FloatBuffer s2 = buf(s), m2 = buf(m), l2 = buf(l), o2 = buf(o);
      FloatKernels.onlineSoftmaxTileScalar(s1, bias == null ? null : buf(bias), ROWS, COLS, m1, l1, o1, D);
      VectorKernels.onlineSoftmaxTile(s2, bias == null ? null : buf(bias), ROWS, COLS, m2, l2, o2, D);
      assertArrayEquals(arr(s1), arr(s2), "probabilities, bias " + withBias);
      assertArrayEquals(arr(m1), arr(m2), "row maxima");
      assertArrayEquals(arr(o1), arr(o2), "rescaled outputs");
      float[] want = arr(l1), got = arr(l2);
      for (int r = 0; r < ROWS; r++) assertEquals(want[r], got[r], 2e-6 * want[r], "row sum " + r);
    }
  }

  @Test
  void probabilitiesAndSoftmaxGradientMatchTheScalarKernels() {
    Random rnd = new Random(9);
    float[] p = scores(rnd, false), bias = scores(rnd, true), ds = scores(rnd, false);
    for (int i = 0; i < bias.length; i++) if (bias[i] != (float) AttentionMask.MASKED) bias[i] = 0f;
    float[] m = new float[ROWS], inv = new float[ROWS], delta = new float[ROWS];
    for (int r = 0; r < ROWS; r++) {
      m[r] = 12f + rnd.nextFloat();
      inv[r] = 1f / (1f + rnd.nextFloat() * 30);
      delta[r] = (float) rnd.nextGaussian();
    }
    for (float[] b : new float[][] {null, bias}) {
      FloatBuffer p1 = buf(p), p2 = buf(p);
      FloatKernels.probabilitiesTileScalar(p1, b == null ? null : buf(b), ROWS, COLS, buf(m), buf(inv));
      VectorKernels.probabilitiesTile(p2, b == null ? null : buf(b), ROWS, COLS, buf(m), buf(inv));
      assertArrayEquals(arr(p1), arr(p2), "probabilities, bias " + (b != null));
      FloatBuffer d1 = buf(ds), d2 = buf(ds);
      FloatKernels.softmaxGradTileScalar(d1, p1, buf(delta), ROWS, COLS);
      VectorKernels.softmaxGradTile(d2, p2, buf(delta), ROWS, COLS);
      assertArrayEquals(arr(d1), arr(d2), "dS, bias " + (b != null));
    }
  }

  @Test
  void crossEntropyInPlaceEqualsTheNd4jFormulation() {
    Nd4j.getRandom().setSeed(3);
    int rows = 70, vocab = 1003; // more rows than one thread's share, a width no vector divides
    INDArray logits = Nd4j.randn(DataType.FLOAT, rows, vocab).muli(8);
    logits.putScalar(4, 17, 200f); // a near-one-hot row: the rest of it underflows and is flushed
    int[] targets = new int[rows];
    for (int n = 0; n < rows; n++) targets[n] = n % 5 == 0 ? CrossEntropy.IGNORE_INDEX : (n * 31) % vocab;
    CrossEntropy.Result want = CrossEntropy.forward(logits.dup(), targets);
    CrossEntropy.Result got = CrossEntropy.forwardInPlace(logits.dup(), targets);
    assertEquals(want.count(), got.count());
    assertEquals(want.sum(), got.sum(), 1e-6 * Math.abs(want.sum()), "loss sum");
    double diff = want.probs().sub(got.probs()).amaxNumber().doubleValue();
    assertTrue(diff < 5e-6, "probabilities differ by " + diff); // the sums of 1003 floats, added in another order
    assertEquals(0.0, got.probs().getDouble(4, 16), "flushed");
    INDArray dWant = CrossEntropy.backward(want, targets, 0.01), dGot = CrossEntropy.backward(got, targets, 0.01);
    assertTrue(dWant.sub(dGot).amaxNumber().doubleValue() < 0.01 * 5e-6, "dlogits");
  }

  @Test
  void crossEntropyInPlaceNamesAnOutOfVocabularyLabel() {
    INDArray logits = Nd4j.rand(DataType.FLOAT, 3, 10);
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> CrossEntropy.forwardInPlace(logits, new int[] {1, 10, 2}));
    assertTrue(e.getMessage().contains("label 10 is outside the vocabulary [0, 10)"), e.getMessage());
  }
}
