package io.laketune.nn;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Fused fp32 elementwise kernels in plain Java over the arrays' native memory: one pass where the
 * ND4J formulation takes several ops (each a JNI call and a full sweep over memory). On the 2-vCPU
 * machines here an ND4J elementwise op over a 256 x 256 tile costs 150–580 µs, a Java loop a tenth
 * of that. Callers use them only for FLOAT arrays that are dense row-major ({@link #dense}); other
 * types (the double-precision gradient checks) keep the ND4J path, which stays the oracle.
 */
public final class FloatKernels {
  private FloatKernels() {}

  /** Probabilities below this are set to zero (see {@link CrossEntropy#flushTiny}). */
  static final float TINY = 1e-30f;

  /**
   * Whether the attention tile kernels run on the Java Vector API ({@link VectorKernels}): when the
   * JVM was started with {@code --add-modules=jdk.incubator.vector} (bin/laketune, the build's tests
   * and the cluster scripts pass it) and {@code -Dlaketune.vector=false} does not switch it off.
   * Otherwise they run the scalar loops below, about ten times slower on their exponentials.
   */
  public static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
      && !"false".equals(System.getProperty("laketune.vector"));

  /** True when every array is FLOAT, row-major and gap-free (views of whole rows included). */
  public static boolean dense(INDArray... arrays) {
    for (INDArray a : arrays) {
      if (a == null) continue;
      if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || !Shape.hasDefaultStridesForShape(a)) return false;
    }
    return true;
  }

  /** The elements of a {@link #dense} FLOAT array, index 0 = its first element (view offset applied). */
  public static FloatBuffer buffer(INDArray a) {
    FloatPointer p = new FloatPointer(a.data().addressPointer());
    long from = p.position(), n = a.length();
    return p.position(0).capacity(from + n).limit(from + n).position(from).asBuffer();
  }

  private static final float LOG2E = 1.44269504088896341f;
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;
  private static final float ROUND = 12582912f; // 1.5 * 2^23

  /** A per-thread row of at least n floats: tile rows are copied in and out in bulk. */
  private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

  static float[] row(int n) {
    float[] a = ROW.get();
    if (a.length < n) ROW.set(a = new float[n]);
    return a;
  }

  /**
   * e^x in float, Cephes' expf (range reduction by ln 2, degree-6 polynomial; about 1 ulp). Below
   * -87.3 it returns 0 (no subnormals), above 88.7 infinity; NaN stays NaN.
   */
  public static float exp(float x) {
    if (x < -87.33654f) return 0f;
    if (x > 88.72283f) return Float.POSITIVE_INFINITY;
    // round to nearest by the 1.5 * 2^23 trick (ties to even instead of Cephes' floor(x + 0.5):
    // either way |r| <= ln2 / 2, so the polynomial's accuracy is the same), no Math.floor call
    float n = (x * LOG2E + ROUND) - ROUND;
    float r = x - n * LN2_HI - n * LN2_LO;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1f;
    int e = (int) n; // in [-126, 128]; 2^128 is not a float, so that one goes in two steps
    return e == 128 ? p * 0x1p127f * 2f : p * Float.intBitsToFloat((e + 127) << 23);
  }

  /**
   * One step of the online softmax over a score tile s [rows, cols] (scaled scores, plus the
   * additive {@code bias} tile when not null): m' = max(m, rowmax(s)), s := exp(s - m') with tiny
   * values flushed, l := l e^(m - m') + rowsum(s), o := o e^(m - m') ([rows, d]), m := m'.
   */
  static void onlineSoftmaxTile(FloatBuffer s, FloatBuffer bias, int rows, int cols, FloatBuffer m,
      FloatBuffer l, FloatBuffer o, int d) {
    if (VECTOR) VectorKernels.onlineSoftmaxTile(s, bias, rows, cols, m, l, o, d);
    else onlineSoftmaxTileScalar(s, bias, rows, cols, m, l, o, d);
  }

  static void onlineSoftmaxTileScalar(FloatBuffer s, FloatBuffer bias, int rows, int cols, FloatBuffer m,
      FloatBuffer l, FloatBuffer o, int d) {
    float[] x = row(Math.max(2 * cols, d)), b = bias == null ? null : x;
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      s.get(base, x, 0, cols);
      if (b != null) bias.get(base, b, cols, cols);
      float max = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < cols; c++) {
        if (b != null) x[c] += b[cols + c];
        max = Math.max(max, x[c]);
      }
      float mOld = m.get(r), mNew = Math.max(mOld, max);
      float sum = 0;
      for (int c = 0; c < cols; c++) {
        float p = exp(x[c] - mNew);
        if (p < TINY) p = 0;
        x[c] = p;
        sum += p;
      }
      s.put(base, x, 0, cols);
      float alpha = exp(mOld - mNew);
      l.put(r, l.get(r) * alpha + sum);
      m.put(r, mNew);
      if (alpha != 1f) {
        o.get(r * d, x, 0, d);
        for (int k = 0; k < d; k++) x[k] *= alpha;
        o.put(r * d, x, 0, d);
      }
    }
  }

  /** p := exp(p + bias - m) * inv per row, tiny values flushed: a tile's probabilities again in backward. */
  static void probabilitiesTile(FloatBuffer p, FloatBuffer bias, int rows, int cols, FloatBuffer m, FloatBuffer inv) {
    if (VECTOR) VectorKernels.probabilitiesTile(p, bias, rows, cols, m, inv);
    else probabilitiesTileScalar(p, bias, rows, cols, m, inv);
  }

  static void probabilitiesTileScalar(FloatBuffer p, FloatBuffer bias, int rows, int cols, FloatBuffer m,
      FloatBuffer inv) {
    float[] x = row(2 * cols);
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      p.get(base, x, 0, cols);
      if (bias != null) {
        bias.get(base, x, cols, cols);
        for (int c = 0; c < cols; c++) x[c] += x[cols + c];
      }
      float mr = m.get(r), ir = inv.get(r);
      for (int c = 0; c < cols; c++) {
        float q = exp(x[c] - mr) * ir;
        x[c] = q < TINY ? 0f : q;
      }
      p.put(base, x, 0, cols);
    }
  }

  /** ds := (ds - delta) * p per row: the softmax backward of one tile. */
  static void softmaxGradTile(FloatBuffer ds, FloatBuffer p, FloatBuffer delta, int rows, int cols) {
    if (VECTOR) VectorKernels.softmaxGradTile(ds, p, delta, rows, cols);
    else softmaxGradTileScalar(ds, p, delta, rows, cols);
  }

  static void softmaxGradTileScalar(FloatBuffer ds, FloatBuffer p, FloatBuffer delta, int rows, int cols) {
    float[] x = row(2 * cols);
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      float dr = delta.get(r);
      ds.get(base, x, 0, cols);
      p.get(base, x, cols, cols);
      for (int c = 0; c < cols; c++) x[c] = (x[c] - dr) * x[cols + c];
      ds.put(base, x, 0, cols);
    }
  }

  /** y := w x rstd per row of x [rows, cols], rstd := 1 / sqrt(mean(x^2) + eps) [rows]. */
  static void rmsNorm(FloatBuffer x, FloatBuffer w, double eps, FloatBuffer y, FloatBuffer rstd, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      float ss = 0;
      for (int c = 0; c < cols; c++) {
        float v = x.get(base + c);
        ss += v * v;
      }
      float rs = (float) (1.0 / Math.sqrt(ss / cols + eps));
      rstd.put(r, rs);
      for (int c = 0; c < cols; c++) y.put(base + c, x.get(base + c) * rs * w.get(c));
    }
  }

  /**
   * dx := rstd (w dy - xhat mean(w dy xhat)) per row with xhat = x rstd; dW += sum over rows of
   * dy xhat when {@code dw} is not null.
   */
  static void rmsNormBackward(FloatBuffer x, FloatBuffer w, FloatBuffer rstd, FloatBuffer dy, FloatBuffer dx,
      FloatBuffer dw, int rows, int cols) {
    float[] dwAcc = dw == null ? null : new float[cols];
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      float rs = rstd.get(r), dot = 0;
      for (int c = 0; c < cols; c++) {
        float xh = x.get(base + c) * rs, d = dy.get(base + c);
        dot += d * w.get(c) * xh;
        if (dwAcc != null) dwAcc[c] += d * xh;
      }
      dot /= cols;
      for (int c = 0; c < cols; c++) {
        float xh = x.get(base + c) * rs;
        dx.put(base + c, (dy.get(base + c) * w.get(c) - xh * dot) * rs);
      }
    }
    if (dwAcc != null) for (int c = 0; c < cols; c++) dw.put(c, dw.get(c) + dwAcc[c]);
  }

  /**
   * RoPE on x [n, heads, 2 half] with cos/sin [n, half]: y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin;
   * {@code inverse} rotates back (the transpose: y1 = x1 cos + x2 sin, y2 = x2 cos - x1 sin).
   */
  static void rope(FloatBuffer x, FloatBuffer cos, FloatBuffer sin, FloatBuffer y, int n, int heads, int half,
      boolean inverse) {
    float sign = inverse ? -1f : 1f;
    for (int t = 0; t < n; t++) {
      for (int h = 0; h < heads; h++) {
        int base = (t * heads + h) * 2 * half;
        for (int i = 0; i < half; i++) {
          float c = cos.get(t * half + i), sn = sign * sin.get(t * half + i);
          float x1 = x.get(base + i), x2 = x.get(base + half + i);
          y.put(base + i, x1 * c - x2 * sn);
          y.put(base + half + i, x2 * c + x1 * sn);
        }
      }
    }
  }

  /**
   * torch.optim.AdamW on elements [from, to) of flat p, g, m, v: p *= 1 - lr wd; m = b1 m + (1 - b1) g;
   * v = b2 v + (1 - b2) g^2; p -= (lr / bc1) m / (sqrt(v) / bc2Sqrt + eps).
   */
  public static void adamW(FloatBuffer p, FloatBuffer g, FloatBuffer m, FloatBuffer v, int from, int to, double beta1,
      double beta2, float eps, float decay, float stepSize, float bc2Sqrt) {
    // every scalar rounded once from double, as torch's float kernels receive them
    float b1 = (float) beta1, b2 = (float) beta2, c1 = (float) (1 - beta1), c2 = (float) (1 - beta2);
    for (int i = from; i < to; i++) {
      float gi = g.get(i);
      float mi = m.get(i) * b1 + gi * c1;
      float vi = v.get(i) * b2 + gi * gi * c2;
      m.put(i, mi);
      v.put(i, vi);
      float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
      p.put(i, p.get(i) * decay - stepSize * (mi / denom));
    }
  }
}
