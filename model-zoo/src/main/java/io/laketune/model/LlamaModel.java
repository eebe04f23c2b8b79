package io.laketune.model;

import io.laketune.nn.AttentionMask;
import io.laketune.nn.CausalSelfAttention;
import io.laketune.nn.CrossEntropy;
import io.laketune.nn.Embedding;
import io.laketune.nn.Linear;
import io.laketune.nn.LmHeadLoss;
import io.laketune.nn.OpProfile;
import io.laketune.nn.Param;
import io.laketune.nn.ParamStore;
import io.laketune.nn.Projection;
import io.laketune.nn.RmsNorm;
import io.laketune.nn.Rope;
import io.laketune.nn.SwiGluMlp;
import io.laketune.nn.Workspaces;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The Llama family decoder (Llama 2/3, Mistral, Qwen2) with HF parameter names.
 *
 * <p>Per block: x += o(attn(rope(q(n1(x))), rope(k(n1(x))), v(n1(x)))); x += mlp(n2(x)).
 * Activations are [N, C] with N = B*T; C hidden, H heads, Hkv key/value heads, D head dim,
 * I intermediate, V vocabulary.
 */
public final class LlamaModel implements CausalLm {
  private final LlamaConfig cfg;
  private final ParamStore params;
  private final Embedding embed;
  private final Block[] blocks;
  private final RmsNorm finalNorm;
  private final Projection lmHead;
  private final Rope rope;
  private final ProjectionFactory projections;
  private boolean checkpointing;
  private int attentionBlock = AttentionMask.DEFAULT_BLOCK;

  public LlamaModel(LlamaConfig cfg, ParamStore params) {
    this(cfg, params, ProjectionFactory.PLAIN);
  }

  /** @param projections what each linear module becomes (adapters wrap the targeted ones) */
  public LlamaModel(LlamaConfig cfg, ParamStore params, ProjectionFactory projections) {
    this.cfg = cfg;
    this.params = params;
    this.projections = projections;
    this.embed = new Embedding(params.get("model.embed_tokens.weight"));
    this.rope = new Rope(cfg.rope().invFreq(), cfg.rope().attentionScaling(), params.computeType());
    this.blocks = new Block[cfg.numLayers()];
    for (int i = 0; i < blocks.length; i++) blocks[i] = new Block(i);
    this.finalNorm = new RmsNorm(params.get("model.norm.weight"), cfg.rmsNormEps());
    Param head = cfg.tieWordEmbeddings() ? params.get("model.embed_tokens.weight") : params.get("lm_head.weight");
    this.lmHead = cfg.tieWordEmbeddings() ? new Linear(head, null, false) : projections.create(new Linear(head, null, false));
  }

  /** HF names and shapes of every parameter, in checkpoint order. */
  public static Map<String, long[]> parameterShapes(LlamaConfig c) {
    Map<String, long[]> s = new LinkedHashMap<>();
    long hidden = c.hiddenSize(), q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKvHeads() * c.headDim();
    long inter = c.intermediateSize();
    s.put("model.embed_tokens.weight", new long[] {c.vocabSize(), hidden});
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "model.layers." + i + ".";
      s.put(p + "input_layernorm.weight", new long[] {hidden});
      s.put(p + "self_attn.q_proj.weight", new long[] {q, hidden});
      if (c.qkvBias()) s.put(p + "self_attn.q_proj.bias", new long[] {q});
      s.put(p + "self_attn.k_proj.weight", new long[] {kv, hidden});
      if (c.qkvBias()) s.put(p + "self_attn.k_proj.bias", new long[] {kv});
      s.put(p + "self_attn.v_proj.weight", new long[] {kv, hidden});
      if (c.qkvBias()) s.put(p + "self_attn.v_proj.bias", new long[] {kv});
      s.put(p + "self_attn.o_proj.weight", new long[] {hidden, q});
      if (c.outputBias()) s.put(p + "self_attn.o_proj.bias", new long[] {hidden});
      s.put(p + "post_attention_layernorm.weight", new long[] {hidden});
      s.put(p + "mlp.gate_proj.weight", new long[] {inter, hidden});
      if (c.mlpBias()) s.put(p + "mlp.gate_proj.bias", new long[] {inter});
      s.put(p + "mlp.up_proj.weight", new long[] {inter, hidden});
      if (c.mlpBias()) s.put(p + "mlp.up_proj.bias", new long[] {inter});
      s.put(p + "mlp.down_proj.weight", new long[] {hidden, inter});
      if (c.mlpBias()) s.put(p + "mlp.down_proj.bias", new long[] {hidden});
    }
    s.put("model.norm.weight", new long[] {hidden});
    if (!c.tieWordEmbeddings()) s.put("lm_head.weight", new long[] {c.vocabSize(), hidden});
    return s;
  }

  /** The linear modules, for adapter targeting. */
  public static List<LinearModule> linearModules(LlamaConfig c) {
    List<LinearModule> out = new ArrayList<>();
    long hidden = c.hiddenSize(), q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKvHeads() * c.headDim();
    long inter = c.intermediateSize();
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "model.layers." + i + ".";
      out.add(new LinearModule(p + "self_attn.q_proj", hidden, q, false, false, c.qkvBias()));
      out.add(new LinearModule(p + "self_attn.k_proj", hidden, kv, false, false, c.qkvBias()));
      out.add(new LinearModule(p + "self_attn.v_proj", hidden, kv, false, false, c.qkvBias()));
      out.add(new LinearModule(p + "self_attn.o_proj", q, hidden, false, false, c.outputBias()));
      out.add(new LinearModule(p + "mlp.gate_proj", hidden, inter, false, false, c.mlpBias()));
      out.add(new LinearModule(p + "mlp.up_proj", hidden, inter, false, false, c.mlpBias()));
      out.add(new LinearModule(p + "mlp.down_proj", inter, hidden, false, false, c.mlpBias()));
    }
    if (!c.tieWordEmbeddings()) out.add(new LinearModule("lm_head", hidden, c.vocabSize(), false, true, false));
    return out;
  }

  @Override
  public LlamaConfig config() {
    return cfg;
  }

  @Override
  public ParamStore params() {
    return params;
  }

  @Override
  public void setActivationCheckpointing(boolean enabled) {
    this.checkpointing = enabled;
  }

  /** Positions per attention tile side (tests use small tiles to cross tile borders). */
  void setAttentionBlock(int block) {
    this.attentionBlock = block;
  }

  /** One decoder layer; its linear layers read the store's parameters by HF name. */
  private final class Block {
    final RmsNorm norm1;
    final RmsNorm norm2;
    final Projection q;
    final Projection k;
    final Projection v;
    final Projection o;
    final SwiGluMlp mlp;
    final CausalSelfAttention attn;

    Block(int i) {
      String p = "model.layers." + i + ".";
      norm1 = new RmsNorm(params.get(p + "input_layernorm.weight"), cfg.rmsNormEps());
      norm2 = new RmsNorm(params.get(p + "post_attention_layernorm.weight"), cfg.rmsNormEps());
      q = linear(p + "self_attn.q_proj");
      k = linear(p + "self_attn.k_proj");
      v = linear(p + "self_attn.v_proj");
      o = linear(p + "self_attn.o_proj");
      mlp = new SwiGluMlp(linear(p + "mlp.gate_proj"), linear(p + "mlp.up_proj"), linear(p + "mlp.down_proj"));
      attn = new CausalSelfAttention(cfg.numHeads(), cfg.numKvHeads(), cfg.headDim(),
          1.0 / Math.sqrt(cfg.headDim()));
    }

    Projection linear(String prefix) {
      return projections.create(new Linear(params.get(prefix + ".weight"), params.find(prefix + ".bias"), false));
    }

    /** Everything backward needs from one block's forward. */
    final class Cache {
      RmsNorm.Cache n1;
      INDArray h1;
      CausalSelfAttention.Cache attn;
      INDArray a;
      RmsNorm.Cache n2;
      SwiGluMlp.Cache mlp;
    }

    INDArray forward(INDArray x, Context ctx, Cache cache) {
      long t = OpProfile.start();
      RmsNorm.Cache[] nc = new RmsNorm.Cache[1];
      long s = OpProfile.start();
      INDArray h1 = norm1.forward(x, cache == null ? null : nc);
      OpProfile.stop(OpProfile.Kind.NORM, s);
      INDArray q1 = q.forward(h1);
      INDArray k1 = k.forward(h1);
      s = OpProfile.start();
      INDArray qr = rope.forward(q1, cfg.numHeads(), ctx.rope);
      INDArray kr = rope.forward(k1, cfg.numKvHeads(), ctx.rope);
      OpProfile.stop(OpProfile.Kind.ROPE, s);
      CausalSelfAttention.Cache[] ac = new CausalSelfAttention.Cache[1];
      INDArray v1 = v.forward(h1);
      s = OpProfile.start();
      INDArray a = attn.forward(qr, kr, v1, ctx.mask, cache == null ? null : ac);
      OpProfile.stop(OpProfile.Kind.ATTENTION, s);
      INDArray x2 = o.forward(a).addi(x);
      RmsNorm.Cache[] nc2 = new RmsNorm.Cache[1];
      s = OpProfile.start();
      INDArray h2 = norm2.forward(x2, cache == null ? null : nc2);
      OpProfile.stop(OpProfile.Kind.NORM, s);
      SwiGluMlp.Cache[] mc = new SwiGluMlp.Cache[1];
      s = OpProfile.start();
      INDArray m = mlp.forward(h2, cache == null ? null : mc);
      OpProfile.stop(OpProfile.Kind.SWIGLU, s);
      INDArray out = m.addi(x2);
      OpProfile.stop(OpProfile.Kind.RESIDUAL, t);
      if (cache != null) {
        cache.n1 = nc[0];
        cache.h1 = h1;
        cache.attn = ac[0];
        cache.a = a;
        cache.n2 = nc2[0];
        cache.mlp = mc[0];
      }
      return out;
    }

    /** Each half (MLP, attention) runs in its own scope, so their temporaries share memory. */
    INDArray backward(INDArray dOut, Context ctx, Cache c) {
      long t = OpProfile.start();
      INDArray dx2 = Workspaces.scoped(() -> {
        long s = OpProfile.start();
        INDArray dm = mlp.backward(dOut, c.mlp);
        OpProfile.stop(OpProfile.Kind.SWIGLU, s);
        s = OpProfile.start();
        INDArray d = norm2.backward(dm, c.n2);
        OpProfile.stop(OpProfile.Kind.NORM, s);
        return d.addi(dOut);
      });
      INDArray dx = Workspaces.scoped(() -> attentionBackward(dx2, ctx, c));
      OpProfile.stop(OpProfile.Kind.RESIDUAL, t);
      return dx;
    }

    private INDArray attentionBackward(INDArray dx2, Context ctx, Cache c) {
      INDArray da = o.backward(dx2, c.a);
      long s = OpProfile.start();
      CausalSelfAttention.Grads g = attn.backward(da, c.attn);
      OpProfile.stop(OpProfile.Kind.ATTENTION, s);
      s = OpProfile.start();
      INDArray dq = rope.backward(g.dq(), cfg.numHeads(), ctx.rope);
      INDArray dk = rope.backward(g.dk(), cfg.numKvHeads(), ctx.rope);
      OpProfile.stop(OpProfile.Kind.ROPE, s);
      INDArray dh1 = q.backward(dq, c.h1);
      dh1.addi(k.backward(dk, c.h1));
      dh1.addi(v.backward(g.dv(), c.h1));
      s = OpProfile.start();
      INDArray dx = norm1.backward(dh1, c.n1);
      OpProfile.stop(OpProfile.Kind.NORM, s);
      return dx.addi(dx2);
    }

    /**
     * New tokens of one or more sequences, x [N, C]: rows rows[i]..rows[i+1]-1 continue sequence i,
     * whose cache they are written into from position starts[i]. The projections and the MLP run on
     * all N rows at once; attention runs per sequence over its own cache.
     */
    INDArray decode(INDArray x, Rope.Tables tables, KvCache[] caches, int layer, int[] starts, int[] rows) {
      INDArray h1 = norm1.forward(x, null);
      INDArray qr = rope.forward(q.forward(h1), cfg.numHeads(), tables);
      INDArray kr = rope.forward(k.forward(h1), cfg.numKvHeads(), tables);
      INDArray vv = v.forward(h1);
      INDArray a = caches.length == 1 ? null : qr.ulike();
      for (int i = 0; i < caches.length; i++) {
        int tn = rows[i + 1] - rows[i];
        INDArray[] seq = caches.length == 1 ? new INDArray[] {qr, kr, vv} : new INDArray[] {rowsOf(qr, rows, i),
            rowsOf(kr, rows, i), rowsOf(vv, rows, i)};
        KvCache cache = caches[i];
        writeCache(cache.keys(layer), seq[1], starts[i], tn);
        writeCache(cache.values(layer), seq[2], starts[i], tn);
        INDArray ai = attn.attendCached(seq[0], cache.keys(layer), cache.values(layer), starts[i], tn, cfg.slidingWindow());
        if (a == null) a = ai;
        else rowsOf(a, rows, i).assign(ai);
      }
      INDArray x2 = o.forward(a).addi(x);
      return mlp.forward(norm2.forward(x2, null), null).addi(x2);
    }

    private static INDArray rowsOf(INDArray m, int[] rows, int i) {
      return m.get(NDArrayIndex.interval(rows[i], rows[i + 1]), NDArrayIndex.all());
    }

    void writeCache(INDArray store, INDArray x2d, int start, int tn) {
      INDArray heads = x2d.reshape('c', tn, cfg.numKvHeads(), cfg.headDim()).permute(1, 0, 2);
      store.get(NDArrayIndex.all(), NDArrayIndex.interval(start, start + tn), NDArrayIndex.all())
          .assign(heads);
    }
  }

  /** Per-forward state shared by all blocks: RoPE rows and the attention mask's tiles. */
  private record Context(Rope.Tables rope, AttentionMask mask) {}

  private Context context(Batch b) {
    return new Context(rope.tables(b.flatPositions()),
        new AttentionMask(b.batchSize(), b.seqLen(), b.attentionMask(), b.segmentIds(),
            cfg.slidingWindow(), cfg.numHeads() / cfg.numKvHeads(), attentionBlock, params.computeType()));
  }

  @Override
  public INDArray logits(Batch batch) {
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      return lmHead.forward(finalNorm.forward(hidden(batch, context(batch)), null)).detach();
    }
  }

  /** The final hidden states [N, C] before the last norm, blocks run without caches. */
  private INDArray hidden(Batch batch, Context ctx) {
    INDArray x = embed.forward(batch.flatIds());
    for (Block blk : blocks) x = blk.forward(x, ctx, null);
    return x;
  }

  @Override
  public Loss[] rowLosses(Batch batch) {
    requireLabels(batch);
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      LmHeadLoss.Result[] r = LmHeadLoss.perSequence(lmHead, finalNorm.forward(hidden(batch, context(batch)), null),
          CrossEntropy.shiftedTargets(batch.labels()), batch.inputIds().length, cfg.vocabSize());
      return java.util.Arrays.stream(r).map(x -> new Loss(x.sum(), x.count())).toArray(Loss[]::new);
    }
  }

  @Override
  public Loss loss(Batch batch) {
    requireLabels(batch);
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      INDArray hf = finalNorm.forward(hidden(batch, context(batch)), null);
      LmHeadLoss.Result r = LmHeadLoss.apply(lmHead, hf, CrossEntropy.shiftedTargets(batch.labels()),
          cfg.vocabSize(), 0, false);
      return new Loss(r.sum(), r.count());
    }
  }

  static void requireLabels(Batch batch) {
    if (batch.labels() == null) throw new IllegalArgumentException("the batch has no labels to compute a loss on");
  }

  @Override
  public Loss forwardBackward(Batch batch, double gradScale) {
    requireLabels(batch);
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      Context ctx = context(batch);
      int[] ids = batch.flatIds();
      BlockStack<Block.Cache> stack = new BlockStack<>(new BlockStack.Blocks<>() {
        public int size() {
          return blocks.length;
        }

        public Block.Cache newCache(int i) {
          return blocks[i].new Cache();
        }

        public INDArray forward(int i, INDArray x, Block.Cache c) {
          return blocks[i].forward(x, ctx, c);
        }

        public INDArray backward(int i, INDArray dy, Block.Cache c) {
          return blocks[i].backward(dy, ctx, c);
        }
      }, checkpointing);
      long s = OpProfile.start();
      INDArray x0 = embed.forward(ids);
      OpProfile.stop(OpProfile.Kind.EMBED, s);
      INDArray x = stack.forward(x0);
      RmsNorm.Cache[] fc = new RmsNorm.Cache[1];
      s = OpProfile.start();
      INDArray hf = finalNorm.forward(x, fc);
      OpProfile.stop(OpProfile.Kind.NORM, s);
      int[] targets = CrossEntropy.shiftedTargets(batch.labels());
      s = OpProfile.start();
      LmHeadLoss.Result r = LmHeadLoss.apply(lmHead, hf, targets, cfg.vocabSize(), gradScale, true);
      OpProfile.stop(OpProfile.Kind.LOSS, s);
      s = OpProfile.start();
      INDArray dx = finalNorm.backward(r.dHidden(), fc[0]);
      OpProfile.stop(OpProfile.Kind.NORM, s);
      INDArray dx0 = stack.backward(dx);
      s = OpProfile.start();
      embed.backward(dx0, ids);
      OpProfile.stop(OpProfile.Kind.EMBED, s);
      return new Loss(r.sum(), r.count());
    }
  }

  @Override
  public KvCache newCache(int capacity) {
    return new KvCache(cfg.numLayers(), cfg.numKvHeads(), cfg.headDim(), capacity, params.computeType());
  }

  @Override
  public INDArray decode(int[] tokens, KvCache cache) {
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      return decodeInWorkspace(tokens, cache).detach();
    }
  }

  private INDArray decodeInWorkspace(int[] tokens, KvCache cache) {
    int start = cache.reserve(tokens.length);
    int[] positions = new int[tokens.length];
    for (int i = 0; i < tokens.length; i++) positions[i] = start + i;
    Rope.Tables tables = rope.tables(positions);
    INDArray x = embed.forward(tokens);
    KvCache[] caches = {cache};
    for (int l = 0; l < blocks.length; l++) {
      x = blocks[l].decode(x, tables, caches, l, new int[] {start}, new int[] {0, tokens.length});
    }
    cache.advance(tokens.length);
    INDArray last = x.getRow(tokens.length - 1, true);
    return lmHead.forward(finalNorm.forward(last, null)).reshape(cfg.vocabSize());
  }

  @Override
  public INDArray decode(int[] tokens, KvCache[] caches) {
    if (tokens.length != caches.length) throw new IllegalArgumentException(tokens.length + " tokens for " + caches.length + " caches");
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      int[] starts = new int[caches.length];
      int[] rows = new int[caches.length + 1];
      for (int i = 0; i < caches.length; i++) {
        starts[i] = caches[i].reserve(1);
        rows[i + 1] = i + 1;
      }
      Rope.Tables tables = rope.tables(starts);
      INDArray x = embed.forward(tokens);
      for (int l = 0; l < blocks.length; l++) x = blocks[l].decode(x, tables, caches, l, starts, rows);
      for (KvCache c : caches) c.advance(1);
      return lmHead.forward(finalNorm.forward(x, null)).detach();
    }
  }
}
