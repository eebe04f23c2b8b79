package io.laketune.train;

import io.laketune.optim.AdamW;
import java.util.List;

/**
 * One AdamW step on one chunk of the flat vector, on the executor that owns the chunk: the same
 * arithmetic as {@link AdamW#step} (torch.optim.AdamW: decoupled weight decay, bias correction, eps
 * after the bias-corrected square root), element by element in fp32 with the scalars rounded to fp32
 * as ND4J rounds them, so a sharded step equals the driver's whole-vector step.
 *
 * <pre>
 *   g = g * clip                                (only when the global norm was clipped)
 *   m = m b1 + g (1 - b1);  v = v b2 + g^2 (1 - b2)
 *   p = p (1 - lr wd)                           (groups with decay)
 *   p = p - (m / (sqrt(v) / sqrt(1 - b2^t) + eps)) (lr / (1 - b1^t))
 * </pre>
 *
 * Groups hold absolute element ranges of the whole vector; a chunk takes the parts it overlaps.
 */
final class ChunkAdamW {
  private ChunkAdamW() {}

  /**
   * Updates p, m, v [0, n) in place; the chunk starts at element {@code start} of the vector.
   *
   * @param t the step number after this step (1 for the first)
   * @param clip the clipping coefficient, or 1 and {@code clipped} false when the norm was not clipped
   */
  static void step(float[] p, float[] g, float[] m, float[] v, int n, long start, long t, AdamW.Hyper h,
      List<AdamW.Group> groups, double lr, float clip, boolean clipped) {
    double bc1 = 1 - Math.pow(h.beta1(), t);
    double bc2Sqrt = Math.sqrt(1 - Math.pow(h.beta2(), t));
    float b1 = (float) h.beta1(), c1 = (float) (1 - h.beta1());
    float b2 = (float) h.beta2(), c2 = (float) (1 - h.beta2());
    for (int i = 0; i < n; i++) {
      float gi = clipped ? g[i] * clip : g[i];
      m[i] = m[i] * b1 + gi * c1;
      v[i] = v[i] * b2 + (gi * gi) * c2;
    }
    float bc2 = (float) bc2Sqrt, eps = (float) h.eps();
    long end = start + n;
    for (AdamW.Group gr : groups) {
      long a = Math.max(start, gr.start()), b = Math.min(end, gr.end());
      if (a >= b) continue;
      double glr = lr * gr.lrScale();
      float decay = (float) (1 - glr * h.weightDecay());
      boolean decays = gr.decay() && h.weightDecay() != 0;
      float scale = (float) (glr / bc1);
      for (int i = (int) (a - start), e = (int) (b - start); i < e; i++) {
        if (decays) p[i] *= decay;
        float denom = (float) Math.sqrt(v[i]) / bc2 + eps;
        p[i] -= (m[i] / denom) * scale;
      }
    }
  }
}
