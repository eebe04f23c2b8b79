package io.laketune.optim;

import io.laketune.nn.FloatKernels;
import java.nio.FloatBuffer;
import java.util.List;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * AdamW over a flat parameter vector with torch.optim.AdamW's semantics (decoupled weight decay,
 * bias correction, eps added after the bias-corrected square root):
 *
 * <pre>
 *   p -= lr * wd * p
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * <p>Groups assign slices of the vector their own learning-rate multiplier (LoRA+ trains B faster)
 * and switch weight decay off where it does not belong (biases, norms), as HF Trainer does.
 */
public final class AdamW {
  /** Hyperparameters; torch defaults are (0.9, 0.999, 1e-8, 0.01). */
  public record Hyper(double beta1, double beta2, double eps, double weightDecay) {
    public Hyper {
      if (beta1 < 0 || beta1 >= 1) throw new IllegalArgumentException("adam beta1 must be in [0, 1), got " + beta1);
      if (beta2 < 0 || beta2 >= 1) throw new IllegalArgumentException("adam beta2 must be in [0, 1), got " + beta2);
      if (eps < 0) throw new IllegalArgumentException("adam epsilon must be >= 0, got " + eps);
      if (weightDecay < 0) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
    }
  }

  /** Elements [start, end) of the flat vector, with a learning-rate multiplier and decay on/off. */
  public record Group(long start, long end, double lrScale, boolean decay) {}

  private final Hyper hyper;
  private final List<Group> groups;
  private final INDArray expAvg;
  private final INDArray expAvgSq;
  /**
   * The ND4J path's temporaries, one vector reused by every step (ND4J frees arrays only at GC);
   * made on that path's first step, so the fused fp32 path holds only the two moments.
   */
  private INDArray scratch;
  private long step;

  public AdamW(INDArray params, Hyper hyper, List<Group> groups) {
    this.hyper = hyper;
    this.groups = groups.isEmpty() ? List.of(new Group(0, params.length(), 1.0, true)) : List.copyOf(groups);
    this.expAvg = Nd4j.zeros(params.dataType(), params.length());
    this.expAvgSq = Nd4j.zeros(params.dataType(), params.length());
  }

  public AdamW(INDArray params, Hyper hyper) {
    this(params, hyper, List.of());
  }

  /** One update of {@code params} (in place) from {@code grads} at learning rate {@code lr}. */
  public void step(INDArray params, INDArray grads, double lr) {
    step++;
    double bc1 = 1 - Math.pow(hyper.beta1, step);
    double bc2Sqrt = Math.sqrt(1 - Math.pow(hyper.beta2, step));
    if (coversAll() && params.length() <= Integer.MAX_VALUE && FloatKernels.dense(params, grads, expAvg, expAvgSq)) {
      // one fused pass instead of ~10 ND4J sweeps over the vector
      FloatBuffer p = FloatKernels.buffer(params), gr = FloatKernels.buffer(grads);
      FloatBuffer m = FloatKernels.buffer(expAvg), v = FloatKernels.buffer(expAvgSq);
      for (Group g : groups) {
        double glr = lr * g.lrScale;
        float decay = (float) (g.decay ? 1 - glr * hyper.weightDecay : 1);
        FloatKernels.adamW(p, gr, m, v, (int) g.start, (int) g.end, hyper.beta1, hyper.beta2,
            (float) hyper.eps, decay, (float) (glr / bc1), (float) bc2Sqrt);
      }
      return;
    }
    if (scratch == null) {
      try (MemoryWorkspace outside = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        scratch = Nd4j.create(params.dataType(), params.length());
      }
    }
    expAvg.muli(hyper.beta1).addi(scratch.assign(grads).muli(1 - hyper.beta1));
    expAvgSq.muli(hyper.beta2).addi(scratch.assign(grads).muli(grads).muli(1 - hyper.beta2));
    for (Group g : groups) {
      double glr = lr * g.lrScale;
      INDArray p = slice(params, g);
      if (g.decay && hyper.weightDecay != 0) p.muli(1 - glr * hyper.weightDecay);
      INDArray denom = Transforms.sqrt(slice(scratch, g).assign(slice(expAvgSq, g)), false).divi(bc2Sqrt).addi(hyper.eps);
      p.subi(denom.rdivi(slice(expAvg, g)).muli(glr / bc1)); // expAvg / denom, in the scratch
    }
  }

  /** Whether the groups tile the whole vector in order (the fused path updates moments group by group). */
  private boolean coversAll() {
    long next = 0;
    for (Group g : groups) {
      if (g.start != next) return false;
      next = g.end;
    }
    return next == expAvg.length();
  }

  private static INDArray slice(INDArray a, Group g) {
    return g.start == 0 && g.end == a.length() ? a : a.get(NDArrayIndex.interval(g.start, g.end));
  }

  public long stepCount() {
    return step;
  }

  public INDArray expAvg() {
    return expAvg;
  }

  public INDArray expAvgSq() {
    return expAvgSq;
  }

  public Hyper hyper() {
    return hyper;
  }

  public List<Group> groups() {
    return groups;
  }

  /** Restores the state saved from another instance (resume, or moments averaged across workers). */
  public void restore(long stepCount, INDArray m, INDArray v) {
    this.step = stepCount;
    expAvg.assign(m);
    expAvgSq.assign(v);
  }

  /**
   * torch.nn.utils.clip_grad_norm_: scales grads by maxNorm / (norm + 1e-6) when that is below 1.
   *
   * @return the global L2 norm before clipping
   */
  public static double clipGradNorm(INDArray grads, double maxNorm) {
    double norm = grads.norm2Number().doubleValue();
    if (maxNorm > 0) {
      double coef = maxNorm / (norm + 1e-6);
      if (coef < 1) grads.muli(coef);
    }
    return norm;
  }
}
