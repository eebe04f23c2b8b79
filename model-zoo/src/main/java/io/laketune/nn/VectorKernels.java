package io.laketune.nn;

import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention tile kernels of {@link FloatKernels} on the Java Vector API, as wide as the CPU's
 * vectors (16 floats with AVX-512, 8 with AVX2). Used only when the JVM was started with
 * {@code --add-modules=jdk.incubator.vector} ({@link FloatKernels#VECTOR}); nothing else may refer
 * to this class, so a JVM without the module never loads it.
 *
 * <p>Every probability is bit-for-bit the scalar kernel's: {@link #exp} is {@link FloatKernels#exp}
 * lane by lane, the same multiplies and adds in the same order (Java never fuses them), except that
 * below -87.34 it returns e^-87.34 instead of 0, which the flush to zero below
 * {@link FloatKernels#TINY} then makes 0 as well. Row maxima are exact in any order. Only the row
 * sums are added in a different order (lane by lane, then across the lanes).
 */
final class VectorKernels {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int W = F.length();

  private static final float LOG2E = 1.44269504088896341f;
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;
  private static final float ROUND = 12582912f; // 1.5 * 2^23: x + ROUND holds round(x) in its low mantissa bits
  private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);

  private VectorKernels() {}

  /**
   * e^x for x <= 0 lane by lane (softmax arguments are never positive): n = round(x log2 e),
   * r = x - n ln 2, Cephes' degree-6 polynomial in r times 2^n. 2^n comes from the bits of
   * x log2 e + 1.5 * 2^23, whose low mantissa bits are n, so no float-to-int conversion is needed.
   */
  static FloatVector exp(FloatVector x) {
    x = x.max(-87.33654f);
    FloatVector t = x.mul(LOG2E).add(ROUND);
    FloatVector n = t.sub(ROUND);
    FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
    FloatVector p = FloatVector.broadcast(F, 1.9875691500e-4f);
    p = p.mul(r).add(1.3981999507e-3f);
    p = p.mul(r).add(8.3334519073e-3f);
    p = p.mul(r).add(4.1665795894e-2f);
    p = p.mul(r).add(1.6666665459e-1f);
    p = p.mul(r).add(5.0000001201e-1f);
    p = p.mul(r).mul(r).add(r).add(1f);
    IntVector e = t.reinterpretAsInts().add(127 - ROUND_BITS).lanewise(VectorOperators.LSHL, 23);
    return p.mul(e.reinterpretAsFloats());
  }

  /** x[c] := exp(x[c] - shift) * scale, values below TINY flushed to 0, c in [0, n); returns their sum. */
  private static float expRow(float[] x, int n, float shift, float scale, boolean scaled) {
    FloatVector acc = FloatVector.zero(F);
    int c = 0;
    for (int end = F.loopBound(n); c < end; c += W) {
      FloatVector p = exp(FloatVector.fromArray(F, x, c).sub(shift));
      if (scaled) p = p.mul(scale);
      p = p.blend(0f, p.lt(FloatKernels.TINY));
      p.intoArray(x, c);
      acc = acc.add(p);
    }
    float sum = acc.reduceLanes(VectorOperators.ADD);
    for (; c < n; c++) {
      float p = FloatKernels.exp(x[c] - shift);
      if (scaled) p *= scale;
      if (p < FloatKernels.TINY) p = 0f;
      x[c] = p;
      sum += p;
    }
    return sum;
  }

  /** x[c] += x[off + c] for c in [0, n) when add, then max(x[0..n)). */
  private static float addMax(float[] x, int off, int n, boolean add) {
    FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
    int c = 0;
    for (int end = F.loopBound(n); c < end; c += W) {
      FloatVector v = FloatVector.fromArray(F, x, c);
      if (add) {
        v = v.add(FloatVector.fromArray(F, x, off + c));
        v.intoArray(x, c);
      }
      mx = mx.max(v);
    }
    float max = mx.reduceLanes(VectorOperators.MAX);
    for (; c < n; c++) {
      if (add) x[c] += x[off + c];
      max = Math.max(max, x[c]);
    }
    return max;
  }

  /** {@link FloatKernels#onlineSoftmaxTile}, vectorised. */
  static void onlineSoftmaxTile(FloatBuffer s, FloatBuffer bias, int rows, int cols, FloatBuffer m,
      FloatBuffer l, FloatBuffer o, int d) {
    for (int r = 0; r < rows; r++) {
      float[] x = FloatKernels.row(Math.max(2 * cols, d));
      int base = r * cols;
      s.get(base, x, 0, cols);
      if (bias != null) bias.get(base, x, cols, cols);
      float max = addMax(x, cols, cols, bias != null);
      float mOld = m.get(r), mNew = Math.max(mOld, max);
      float sum = expRow(x, cols, mNew, 1f, false);
      s.put(base, x, 0, cols);
      float alpha = FloatKernels.exp(mOld - mNew);
      l.put(r, l.get(r) * alpha + sum);
      m.put(r, mNew);
      if (alpha != 1f) {
        o.get(r * d, x, 0, d);
        for (int k = 0; k < d; k++) x[k] *= alpha;
        o.put(r * d, x, 0, d);
      }
    }
  }

  /** {@link FloatKernels#probabilitiesTile}, vectorised. */
  static void probabilitiesTile(FloatBuffer p, FloatBuffer bias, int rows, int cols, FloatBuffer m, FloatBuffer inv) {
    for (int r = 0; r < rows; r++) {
      float[] x = FloatKernels.row(2 * cols);
      int base = r * cols;
      p.get(base, x, 0, cols);
      if (bias != null) {
        bias.get(base, x, cols, cols);
        addMax(x, cols, cols, true);
      }
      expRow(x, cols, m.get(r), inv.get(r), true);
      p.put(base, x, 0, cols);
    }
  }

  /** {@link FloatKernels#softmaxGradTile}, vectorised. */
  static void softmaxGradTile(FloatBuffer ds, FloatBuffer p, FloatBuffer delta, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      float[] x = FloatKernels.row(2 * cols);
      int base = r * cols;
      float dr = delta.get(r);
      ds.get(base, x, 0, cols);
      p.get(base, x, cols, cols);
      int c = 0;
      for (int end = F.loopBound(cols); c < end; c += W) {
        FloatVector.fromArray(F, x, c).sub(dr).mul(FloatVector.fromArray(F, x, cols + c)).intoArray(x, c);
      }
      for (; c < cols; c++) x[c] = (x[c] - dr) * x[cols + c];
      ds.put(base, x, 0, cols);
    }
  }

  /**
   * Softmax of each row of z [rows, cols] in place, probabilities below TINY flushed to 0, and
   * lse[r] = log(sum(exp(z[r] - max))) + max in float, as {@link CrossEntropy#forward} computes them
   * with ND4J's ops: max, e = exp(z - max), total = sum(e), p = e / total.
   */
  static void softmaxRows(FloatBuffer z, int rows, int cols, float[] lse) {
    for (int r = 0; r < rows; r++) {
      float[] x = FloatKernels.row(cols);
      long base = (long) r * cols;
      z.get((int) base, x, 0, cols);
      float max = addMax(x, 0, cols, false);
      FloatVector acc = FloatVector.zero(F);
      int c = 0;
      for (int end = F.loopBound(cols); c < end; c += W) {
        FloatVector e = exp(FloatVector.fromArray(F, x, c).sub(max));
        e.intoArray(x, c);
        acc = acc.add(e);
      }
      float total = acc.reduceLanes(VectorOperators.ADD);
      for (; c < cols; c++) {
        x[c] = FloatKernels.exp(x[c] - max);
        total += x[c];
      }
      c = 0;
      for (int end = F.loopBound(cols); c < end; c += W) {
        FloatVector p = FloatVector.fromArray(F, x, c).div(total);
        p.blend(0f, p.lt(FloatKernels.TINY)).intoArray(x, c);
      }
      for (; c < cols; c++) {
        float p = x[c] / total;
        x[c] = p < FloatKernels.TINY ? 0f : p;
      }
      z.put((int) base, x, 0, cols);
      lse[r] = (float) Math.log(total) + max;
    }
  }
}
