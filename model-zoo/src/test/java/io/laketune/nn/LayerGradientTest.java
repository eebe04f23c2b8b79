package io.laketune.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Every layer's backward against central finite differences, in double precision. */
class LayerGradientTest {
  static final DataType D = DataType.DOUBLE;
  final Random rnd = new Random(7);

  static INDArray randn(long... shape) {
    return Nd4j.randn(D, shape);
  }

  static ParamStore store(Map<String, long[]> shapes) {
    ParamStore ps = ParamStore.allocate(shapes, n -> true, D, D);
    for (Param p : ps.all().values()) p.set(Nd4j.randn(D, p.shape()).muli(0.5).addi(p.shape().length == 1 ? 1.0 : 0.0));
    return ps;
  }

  /** Scalar probe loss: sum(y * r) with a fixed random r, so dy = r. */
  static double probe(INDArray y, INDArray r) {
    return y.mul(r).sumNumber().doubleValue();
  }

  @Test
  void linear() {
    for (boolean fifo : new boolean[] {false, true}) {
      Map<String, long[]> shapes = new LinkedHashMap<>();
      shapes.put("w", fifo ? new long[] {5, 3} : new long[] {3, 5});
      shapes.put("b", new long[] {3});
      ParamStore ps = store(shapes);
      Linear lin = new Linear(ps.get("w"), ps.get("b"), fifo);
      INDArray x = randn(4, 5), r = randn(4, 3);
      INDArray dx = lin.backward(r, x);
      GradCheck.check("linear dx", x, dx, () -> probe(lin.forward(x), r), 20, 1e-6, rnd);
      GradCheck.check("linear dW", ps.get("w").stored(), ps.get("w").grad(), () -> probe(lin.forward(x), r), 15, 1e-6, rnd);
      GradCheck.check("linear db", ps.get("b").stored(), ps.get("b").grad(), () -> probe(lin.forward(x), r), 3, 1e-6, rnd);
    }
  }

  @Test
  void rmsNorm() {
    ParamStore ps = store(Map.of("w", new long[] {6}));
    RmsNorm norm = new RmsNorm(ps.get("w"), 1e-5);
    INDArray x = randn(4, 6), r = randn(4, 6);
    RmsNorm.Cache[] c = new RmsNorm.Cache[1];
    norm.forward(x, c);
    INDArray dx = norm.backward(r, c[0]);
    GradCheck.check("rmsnorm dx", x, dx, () -> probe(norm.forward(x, null), r), 24, 1e-6, rnd);
    GradCheck.check("rmsnorm dW", ps.get("w").stored(), ps.get("w").grad(), () -> probe(norm.forward(x, null), r), 6, 1e-6, rnd);
  }

  @Test
  void layerNorm() {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("w", new long[] {6});
    shapes.put("b", new long[] {6});
    ParamStore ps = store(shapes);
    LayerNorm norm = new LayerNorm(ps.get("w"), ps.get("b"), 1e-5);
    INDArray x = randn(4, 6), r = randn(4, 6);
    LayerNorm.Cache[] c = new LayerNorm.Cache[1];
    norm.forward(x, c);
    INDArray dx = norm.backward(r, c[0]);
    GradCheck.check("layernorm dx", x, dx, () -> probe(norm.forward(x, null), r), 24, 1e-6, rnd);
    GradCheck.check("layernorm dW", ps.get("w").stored(), ps.get("w").grad(), () -> probe(norm.forward(x, null), r), 6, 1e-6, rnd);
    GradCheck.check("layernorm db", ps.get("b").stored(), ps.get("b").grad(), () -> probe(norm.forward(x, null), r), 6, 1e-6, rnd);
  }

  @Test
  void embeddingWithRepeatedIds() {
    ParamStore ps = store(Map.of("e", new long[] {7, 4}));
    Embedding emb = new Embedding(ps.get("e"));
    int[] ids = {3, 1, 3, 6, 3};
    INDArray r = randn(5, 4);
    emb.backward(r, ids);
    GradCheck.check("embedding dW", ps.get("e").stored(), ps.get("e").grad(), () -> probe(emb.forward(ids), r), 28, 1e-6, rnd);
  }

  @Test
  void rope() {
    float[] inv = {1.0f, 0.1f, 0.01f};
    Rope rope = new Rope(inv, 1.0, D);
    int heads = 2;
    INDArray x = randn(5, heads * 6), r = randn(5, heads * 6);
    Rope.Tables t = rope.tables(new int[] {0, 1, 2, 7, 3});
    INDArray dx = rope.backward(r, heads, t);
    GradCheck.check("rope dx", x, dx, () -> probe(rope.forward(x, heads, t), r), 60, 1e-6, rnd);
  }

  @Test
  void attentionWithGqaPaddingAndWindow() {
    int b = 2, t = 5, h = 4, hkv = 2, d = 3;
    CausalSelfAttention attn = new CausalSelfAttention(h, hkv, d, 1.0 / Math.sqrt(d));
    INDArray q = randn(b * t, h * d), k = randn(b * t, hkv * d), v = randn(b * t, hkv * d);
    INDArray r = randn(b * t, h * d);
    int[][] pad = {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}};
    int[][] seg = {{0, 0, 1, 1, 1}, {0, 0, 0, 0, 0}};
    AttentionMask mask = new AttentionMask(b, t, pad, seg, 3, h / hkv, 2, D); // tiles of 2 positions
    CausalSelfAttention.Cache[] c = new CausalSelfAttention.Cache[1];
    attn.forward(q, k, v, mask, c);
    CausalSelfAttention.Grads g = attn.backward(r, c[0]);
    GradCheck.check("attn dq", q, g.dq(), () -> probe(attn.forward(q, k, v, mask, null), r), 60, 1e-6, rnd);
    GradCheck.check("attn dk", k, g.dk(), () -> probe(attn.forward(q, k, v, mask, null), r), 30, 1e-6, rnd);
    GradCheck.check("attn dv", v, g.dv(), () -> probe(attn.forward(q, k, v, mask, null), r), 30, 1e-6, rnd);
  }

  @Test
  void swiGlu() {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("g", new long[] {7, 4});
    shapes.put("u", new long[] {7, 4});
    shapes.put("d", new long[] {4, 7});
    ParamStore ps = store(shapes);
    SwiGluMlp mlp = new SwiGluMlp(new Linear(ps.get("g"), null, false), new Linear(ps.get("u"), null, false),
        new Linear(ps.get("d"), null, false));
    INDArray x = randn(3, 4), r = randn(3, 4);
    SwiGluMlp.Cache[] c = new SwiGluMlp.Cache[1];
    mlp.forward(x, c);
    INDArray dx = mlp.backward(r, c[0]);
    GradCheck.check("swiglu dx", x, dx, () -> probe(mlp.forward(x, null), r), 12, 1e-6, rnd);
    for (String n : shapes.keySet()) {
      GradCheck.check("swiglu d" + n, ps.get(n).stored(), ps.get(n).grad(), () -> probe(mlp.forward(x, null), r), 12, 1e-6, rnd);
    }
  }

  @Test
  void geluMlp() {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("fc", new long[] {4, 8});
    shapes.put("fcb", new long[] {8});
    shapes.put("proj", new long[] {8, 4});
    ParamStore ps = store(shapes);
    GeluMlp mlp = new GeluMlp(new Linear(ps.get("fc"), ps.get("fcb"), true), new Linear(ps.get("proj"), null, true));
    INDArray x = randn(3, 4).muli(2), r = randn(3, 4);
    GeluMlp.Cache[] c = new GeluMlp.Cache[1];
    mlp.forward(x, c);
    INDArray dx = mlp.backward(r, c[0]);
    GradCheck.check("gelu dx", x, dx, () -> probe(mlp.forward(x, null), r), 12, 1e-6, rnd);
    GradCheck.check("gelu dfc", ps.get("fc").stored(), ps.get("fc").grad(), () -> probe(mlp.forward(x, null), r), 12, 1e-6, rnd);
    GradCheck.check("gelu dfcb", ps.get("fcb").stored(), ps.get("fcb").grad(), () -> probe(mlp.forward(x, null), r), 8, 1e-6, rnd);
  }

  @Test
  void crossEntropyWithIgnoredLabels() {
    INDArray logits = randn(6, 5);
    int[][] labels = {{1, -100, 4}, {0, 2, -100}};
    int[] targets = CrossEntropy.shiftedTargets(labels);
    CrossEntropy.Result r = CrossEntropy.forward(logits, targets);
    INDArray d = CrossEntropy.backward(r, targets, 1.0 / r.count());
    GradCheck.check("xent dlogits", logits, d, () -> {
      CrossEntropy.Result rr = CrossEntropy.forward(logits, targets);
      return rr.sum() / rr.count();
    }, 30, 1e-6, rnd);
  }
}
