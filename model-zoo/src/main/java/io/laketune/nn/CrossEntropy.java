package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Next-token cross-entropy as in HF's ForCausalLMLoss: row n = b*T + t predicts labels[b][t+1];
 * the last position of each row and labels equal to {@link #IGNORE_INDEX} contribute nothing.
 *
 * <p>Returns the sum of per-token losses and the count of labelled tokens, so that micro-batches
 * and workers can be combined into the global mean (sum / count) exactly; {@link #backward} takes
 * the scale (1 / global count) to apply.
 */
public final class CrossEntropy {
  public static final int IGNORE_INDEX = -100;

  private CrossEntropy() {}

  /** The shifted targets [B*T]: labels[b][t+1], or IGNORE_INDEX for the last position. */
  public static int[] shiftedTargets(int[][] labels) {
    int batch = labels.length, time = labels[0].length;
    int[] targets = new int[batch * time];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < time; t++) {
        targets[b * time + t] = t + 1 < time ? labels[b][t + 1] : IGNORE_INDEX;
      }
    }
    return targets;
  }

  public record Result(double sum, long count, INDArray probs) {}

  /**
   * {@link #forward}, but the softmax is written over {@code logits} (which the caller no longer
   * needs): with FLOAT logits and the Vector API ({@link FloatKernels#VECTOR}) one fused pass per
   * row instead of seven ND4J ops and a second [N, V] array.
   */
  public static Result forwardInPlace(INDArray logits, int[] targets) {
    if (!FloatKernels.VECTOR || !FloatKernels.dense(logits) || logits.rank() != 2) return forward(logits, targets);
    long vocab = logits.columns();
    int rows = (int) logits.rows();
    double[] picked = new double[rows];
    for (int n = 0; n < targets.length; n++) {
      int y = checkedTarget(targets[n], vocab);
      if (y != IGNORE_INDEX) picked[n] = logits.getDouble(n, y);
    }
    float[] lse = new float[rows];
    VectorKernels.softmaxRows(FloatKernels.buffer(logits), rows, (int) vocab, lse);
    double sum = 0;
    long count = 0;
    for (int n = 0; n < targets.length; n++) {
      if (targets[n] == IGNORE_INDEX) continue;
      sum += lse[n] - picked[n];
      count++;
    }
    return new Result(sum, count, logits);
  }

  private static int checkedTarget(int y, long vocab) {
    if (y != IGNORE_INDEX && (y < 0 || y >= vocab)) {
      throw new IllegalArgumentException("label " + y + " is outside the vocabulary [0, " + vocab
          + ") (use " + IGNORE_INDEX + " to ignore a position)");
    }
    return y;
  }

  /** logits [N, V]; keeps softmax(logits) for the backward pass. */
  public static Result forward(INDArray logits, int[] targets) {
    long vocab = logits.columns();
    // One [N, V] buffer serves the log-sum-exp and, divided in place, the softmax backward needs.
    INDArray max = logits.max(true, 1);
    INDArray probs = Transforms.exp(logits.subColumnVector(max), false);
    INDArray total = probs.sum(true, 1);
    INDArray lse = Transforms.log(total, true).addi(max);
    double sum = 0;
    long count = 0;
    for (int n = 0; n < targets.length; n++) {
      int y = checkedTarget(targets[n], vocab);
      if (y == IGNORE_INDEX) continue;
      sum += lse.getDouble(n, 0) - logits.getDouble(n, y);
      count++;
    }
    probs.diviColumnVector(total);
    flushTiny(probs);
    return new Result(sum, count, probs);
  }

  /**
   * Sets probabilities below 1e-30 to zero. Once training sharpens the predictions, most of the
   * vocabulary's probabilities underflow into fp32's subnormal range, and GEMMs over subnormal
   * operands run many times slower on x86; their contribution to any gradient is below fp32's
   * resolution anyway.
   */
  static void flushTiny(INDArray probs) {
    BooleanIndexing.replaceWhere(probs, 0.0, Conditions.lessThan(1e-30));
  }

  /** dlogits = scale * (softmax - onehot(target)) on labelled rows, 0 elsewhere. Reuses probs. */
  public static INDArray backward(Result r, int[] targets, double scale) {
    INDArray d = r.probs();
    double[] keep = new double[targets.length];
    for (int n = 0; n < targets.length; n++) {
      if (targets[n] == IGNORE_INDEX) continue;
      keep[n] = scale;
      d.putScalar(n, targets[n], d.getDouble(n, targets[n]) - 1.0);
    }
    INDArray k = Nd4j.create(keep, new long[] {targets.length, 1}, org.nd4j.linalg.api.buffer.DataType.DOUBLE)
        .castTo(d.dataType());
    return d.muliColumnVector(k);
  }
}
