package io.laketune.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Chunked lm_head + cross-entropy over labelled rows against the full [N, V] computation. */
class LmHeadLossTest {
  static final DataType D = DataType.DOUBLE;

  @Test
  void equalsFullLogitsForEveryChunkSize() {
    Nd4j.getRandom().setSeed(5);
    int n = 11, c = 4, v = 7;
    ParamStore ps = ParamStore.allocate(Map.of("w", new long[] {v, c}), name -> true, D, D);
    ps.get("w").set(Nd4j.randn(D, v, c));
    Linear head = new Linear(ps.get("w"), null, false);
    INDArray hidden = Nd4j.randn(D, n, c);
    int x = CrossEntropy.IGNORE_INDEX;
    int[] targets = {3, x, x, 0, 6, 2, x, 1, 1, x, 4}; // runs of 1, 3 and 2 labelled rows
    double scale = 1.0 / 7;

    CrossEntropy.Result full = CrossEntropy.forward(head.forward(hidden), targets);
    INDArray wantDx = head.backward(CrossEntropy.backward(full, targets, scale), hidden);
    INDArray wantDw = ps.get("w").grad().dup();

    for (int rows : new int[] {1, 3, 5, 100}) {
      ps.zeroGrads();
      LmHeadLoss.Result r = LmHeadLoss.apply(head, hidden, targets, rows, scale, true);
      assertEquals(full.count(), r.count(), "chunks of " + rows);
      assertEquals(full.sum(), r.sum(), 1e-12, "chunks of " + rows);
      assertTrue(r.dHidden().equalsWithEps(wantDx, 1e-12), "dHidden, chunks of " + rows);
      assertTrue(ps.get("w").grad().equalsWithEps(wantDw, 1e-12), "dW, chunks of " + rows);
      LmHeadLoss.Result fwd = LmHeadLoss.apply(head, hidden, targets, rows, scale, false);
      assertEquals(full.sum(), fwd.sum(), 1e-12);
    }
  }

  @Test
  void aLabelOutsideTheVocabularyIsNamed() {
    ParamStore ps = ParamStore.allocate(Map.of("w", new long[] {5, 3}), name -> false, D, D);
    Linear head = new Linear(ps.get("w"), null, false);
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> LmHeadLoss.apply(head, Nd4j.zeros(D, 2, 3), new int[] {1, 9}, 4, 1.0, true));
    assertTrue(e.getMessage().contains("label 9"), e.getMessage());
  }
}
