package io.laketune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.laketune.optim.AdamW;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A sharded AdamW step, chunk by chunk, equals the driver's whole-vector {@link AdamW} step. */
class ChunkAdamWTest {
  @Test
  void chunkedStepsEqualTheWholeVectorOptimizer() {
    int n = 1000, chunk = 137;
    Random rnd = new Random(4);
    float[] p0 = new float[n];
    for (int i = 0; i < n; i++) p0[i] = (float) rnd.nextGaussian();
    // groups cross chunk boundaries: LoRA+-style scale on one, no decay on another
    List<AdamW.Group> groups = List.of(new AdamW.Group(0, 300, 1.0, true), new AdamW.Group(300, 350, 1.0, false),
        new AdamW.Group(350, 1000, 4.0, true));
    AdamW.Hyper h = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1);
    INDArray whole = Nd4j.createFromArray(p0.clone());
    AdamW ref = new AdamW(whole, h, groups);
    Chunking ch = new Chunking(n, chunk, 3);
    float[][] p = new float[ch.chunks()][], m = new float[ch.chunks()][], v = new float[ch.chunks()][];
    for (int c = 0; c < ch.chunks(); c++) {
      p[c] = new float[ch.chunkLength(c)];
      System.arraycopy(p0, (int) ch.chunkStart(c), p[c], 0, p[c].length);
      m[c] = new float[p[c].length];
      v[c] = new float[p[c].length];
    }
    for (int t = 1; t <= 5; t++) {
      float[] g = new float[n];
      for (int i = 0; i < n; i++) g[i] = (float) (rnd.nextGaussian() * 0.1);
      double lr = 1e-2 / t;
      boolean clipped = t % 2 == 0;
      float coef = 0.37f;
      INDArray gw = Nd4j.createFromArray(g.clone());
      if (clipped) gw.muli(coef);
      ref.step(whole, gw, lr);
      for (int c = 0; c < ch.chunks(); c++) {
        float[] gc = new float[p[c].length];
        System.arraycopy(g, (int) ch.chunkStart(c), gc, 0, gc.length);
        ChunkAdamW.step(p[c], gc, m[c], v[c], gc.length, ch.chunkStart(c), t, h, groups, lr, coef, clipped);
      }
    }
    float[] expect = whole.castTo(DataType.FLOAT).toFloatVector(), em = ref.expAvg().toFloatVector(), ev = ref.expAvgSq().toFloatVector();
    double dp = 0, dm = 0, dv = 0;
    for (int c = 0; c < ch.chunks(); c++) {
      for (int i = 0; i < p[c].length; i++) {
        int at = (int) ch.chunkStart(c) + i;
        dp = Math.max(dp, Math.abs(p[c][i] - expect[at]));
        dm = Math.max(dm, Math.abs(m[c][i] - em[at]));
        dv = Math.max(dv, Math.abs(v[c][i] - ev[at]));
      }
    }
    assertEquals(0, dp, 1e-7, "parameters");
    assertEquals(0, dm, 1e-9, "first moments");
    assertEquals(0, dv, 1e-10, "second moments");
  }
}
