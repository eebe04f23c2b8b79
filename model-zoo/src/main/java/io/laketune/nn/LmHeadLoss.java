package io.laketune.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * lm_head and next-token cross-entropy over the labelled rows only, a chunk of rows at a time:
 * logits exist for one chunk [rows, V] and die with it, so nothing of size N×V is resident and
 * unlabelled positions (prompts, padding, each row's last position) cost no lm_head FLOPs.
 * Equal to {@link CrossEntropy} over the full logits: the same per-row computation, and
 * unlabelled rows' gradients are zero there too.
 *
 * <p>Shapes: hidden [N, C] (after the final norm), targets [N] as {@link CrossEntropy#shiftedTargets}.
 */
public final class LmHeadLoss {
  /** The workspace of one chunk of logits. */
  public static final String CHUNK = "laketune-lmhead-chunk";
  /** Logit elements per chunk: 8 Mi floats (32 MB) keep each chunk's GEMM large. */
  static final long CHUNK_ELEMENTS = 1L << 23;

  private LmHeadLoss() {}

  /** The loss sum and count; dHidden [N, C] when backward was asked for, else null. */
  public record Result(double sum, long count, INDArray dHidden) {}

  /** Rows per chunk for a vocabulary of V. */
  public static int chunkRows(long vocab) {
    return (int) Math.max(16, CHUNK_ELEMENTS / vocab);
  }

  /**
   * @param scale the gradient scale (1 / global label count), used when {@code backward}
   * @param backward also add lm_head's parameter gradients and return dHidden
   */
  public static Result apply(Projection lmHead, INDArray hidden, int[] targets, long vocab, double scale,
      boolean backward) {
    return apply(lmHead, hidden, targets, chunkRows(vocab), scale, backward);
  }

  /**
   * The loss of each of B sequences of T positions (hidden [B*T, C], row n = b*T + t), forward only:
   * what {@link #apply} sums, kept apart per sequence.
   */
  public static Result[] perSequence(Projection lmHead, INDArray hidden, int[] targets, int sequences, long vocab) {
    int t = targets.length / sequences;
    Result[] out = new Result[sequences];
    for (int b = 0; b < sequences; b++) {
      out[b] = apply(lmHead, hidden.get(NDArrayIndex.interval((long) b * t, (long) (b + 1) * t), NDArrayIndex.all()),
          java.util.Arrays.copyOfRange(targets, b * t, (b + 1) * t), vocab, 0, false);
    }
    return out;
  }

  static Result apply(Projection lmHead, INDArray hidden, int[] targets, int chunkRows, double scale,
      boolean backward) {
    int[] labelled = IntStream.range(0, targets.length).filter(n -> targets[n] != CrossEntropy.IGNORE_INDEX).toArray();
    INDArray dHidden = backward ? Nd4j.zeros(hidden.dataType(), hidden.rows(), hidden.columns()) : null;
    double sum = 0;
    long count = 0;
    for (int from = 0; from < labelled.length; from += chunkRows) {
      int to = Math.min(labelled.length, from + chunkRows);
      List<int[]> runs = runs(labelled, from, to);
      int[] chunkTargets = new int[to - from];
      for (int i = from; i < to; i++) chunkTargets[i - from] = targets[labelled[i]];
      try (MemoryWorkspace ws = Workspaces.open(CHUNK)) {
        INDArray x = gather(hidden, runs);
        CrossEntropy.Result r = CrossEntropy.forwardInPlace(lmHead.forward(x), chunkTargets);
        sum += r.sum();
        count += r.count();
        if (backward) {
          INDArray dx = lmHead.backward(CrossEntropy.backward(r, chunkTargets, scale), x);
          long at = 0;
          for (int[] run : runs) {
            dHidden.get(NDArrayIndex.interval(run[0], run[0] + run[1]), NDArrayIndex.all())
                .assign(dx.get(NDArrayIndex.interval(at, at + run[1]), NDArrayIndex.all()));
            at += run[1];
          }
        }
      }
    }
    return new Result(sum, count, dHidden);
  }

  /** labelled[from, to) as runs of consecutive rows {start, length}. */
  private static List<int[]> runs(int[] labelled, int from, int to) {
    List<int[]> runs = new ArrayList<>();
    for (int i = from; i < to; ) {
      int j = i + 1;
      while (j < to && labelled[j] == labelled[j - 1] + 1) j++;
      runs.add(new int[] {labelled[i], j - i});
      i = j;
    }
    return runs;
  }

  private static INDArray gather(INDArray hidden, List<int[]> runs) {
    INDArray[] parts = new INDArray[runs.size()];
    for (int i = 0; i < parts.length; i++) {
      int[] run = runs.get(i);
      parts[i] = hidden.get(NDArrayIndex.interval(run[0], run[0] + run[1]), NDArrayIndex.all());
    }
    return parts.length == 1 ? parts[0].dup('c') : Nd4j.concat(0, parts);
  }
}
