package io.laketune.model;

import io.laketune.nn.AttentionMask;
import io.laketune.nn.CausalSelfAttention;
import io.laketune.nn.CrossEntropy;
import io.laketune.nn.Embedding;
import io.laketune.nn.GeluMlp;
import io.laketune.nn.LayerNorm;
import io.laketune.nn.Linear;
import io.laketune.nn.LmHeadLoss;
import io.laketune.nn.ParamStore;
import io.laketune.nn.Projection;
import io.laketune.nn.Workspaces;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * GPT-2 with HF parameter names ({@code transformer.h.{i}.attn.c_attn.weight}, Conv1D [in, out]).
 *
 * <p>x = wte[ids] + wpe[pos]; per block: x += c_proj(attn(split(c_attn(ln_1(x))))); x += mlp(ln_2(x));
 * logits = ln_f(x) wte^T. Activations [N, C], N = B*T.
 */
public final class Gpt2Model implements CausalLm {
  private final Gpt2Config cfg;
  private final ParamStore params;
  private final Embedding wte;
  private final Embedding wpe;
  private final Block[] blocks;
  private final LayerNorm lnF;
  private final Linear lmHead;
  private final ProjectionFactory projections;
  private boolean checkpointing;
  private int attentionBlock = AttentionMask.DEFAULT_BLOCK;

  public Gpt2Model(Gpt2Config cfg, ParamStore params) {
    this(cfg, params, ProjectionFactory.PLAIN);
  }

  /** @param projections what each linear module becomes (adapters wrap the targeted ones) */
  public Gpt2Model(Gpt2Config cfg, ParamStore params, ProjectionFactory projections) {
    this.cfg = cfg;
    this.params = params;
    this.projections = projections;
    this.wte = new Embedding(params.get("transformer.wte.weight"));
    this.wpe = new Embedding(params.get("transformer.wpe.weight"));
    this.blocks = new Block[cfg.numLayers()];
    for (int i = 0; i < blocks.length; i++) blocks[i] = new Block(i);
    this.lnF = new LayerNorm(params.get("transformer.ln_f.weight"), params.get("transformer.ln_f.bias"),
        cfg.layerNormEps());
    this.lmHead = new Linear(params.get("transformer.wte.weight"), null, false);
  }

  public static Map<String, long[]> parameterShapes(Gpt2Config c) {
    Map<String, long[]> s = new LinkedHashMap<>();
    long e = c.hiddenSize(), inner = c.innerSize();
    s.put("transformer.wte.weight", new long[] {c.vocabSize(), e});
    s.put("transformer.wpe.weight", new long[] {c.maxPositions(), e});
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "transformer.h." + i + ".";
      s.put(p + "ln_1.weight", new long[] {e});
      s.put(p + "ln_1.bias", new long[] {e});
      s.put(p + "attn.c_attn.weight", new long[] {e, 3 * e});
      s.put(p + "attn.c_attn.bias", new long[] {3 * e});
      s.put(p + "attn.c_proj.weight", new long[] {e, e});
      s.put(p + "attn.c_proj.bias", new long[] {e});
      s.put(p + "ln_2.weight", new long[] {e});
      s.put(p + "ln_2.bias", new long[] {e});
      s.put(p + "mlp.c_fc.weight", new long[] {e, inner});
      s.put(p + "mlp.c_fc.bias", new long[] {inner});
      s.put(p + "mlp.c_proj.weight", new long[] {inner, e});
      s.put(p + "mlp.c_proj.bias", new long[] {e});
    }
    s.put("transformer.ln_f.weight", new long[] {e});
    s.put("transformer.ln_f.bias", new long[] {e});
    return s;
  }

  /** The linear (Conv1D) modules, for adapter targeting; the tied head is not one. */
  public static List<LinearModule> linearModules(Gpt2Config c) {
    List<LinearModule> out = new ArrayList<>();
    long e = c.hiddenSize(), inner = c.innerSize();
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "transformer.h." + i + ".";
      out.add(new LinearModule(p + "attn.c_attn", e, 3 * e, true, false, true));
      out.add(new LinearModule(p + "attn.c_proj", e, e, true, false, true));
      out.add(new LinearModule(p + "mlp.c_fc", e, inner, true, false, true));
      out.add(new LinearModule(p + "mlp.c_proj", inner, e, true, false, true));
    }
    return out;
  }

  @Override
  public Gpt2Config config() {
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

  private final class Block {
    final LayerNorm ln1;
    final LayerNorm ln2;
    final Projection cAttn;
    final Projection cProj;
    final GeluMlp mlp;
    final CausalSelfAttention attn;

    Block(int i) {
      String p = "transformer.h." + i + ".";
      ln1 = new LayerNorm(params.get(p + "ln_1.weight"), params.get(p + "ln_1.bias"), cfg.layerNormEps());
      ln2 = new LayerNorm(params.get(p + "ln_2.weight"), params.get(p + "ln_2.bias"), cfg.layerNormEps());
      cAttn = conv1d(p + "attn.c_attn");
      cProj = conv1d(p + "attn.c_proj");
      mlp = new GeluMlp(conv1d(p + "mlp.c_fc"), conv1d(p + "mlp.c_proj"));
      double scale = cfg.scaleAttnWeights() ? 1.0 / Math.sqrt(cfg.headDim()) : 1.0;
      attn = new CausalSelfAttention(cfg.numHeads(), cfg.numHeads(), cfg.headDim(), scale);
    }

    Projection conv1d(String prefix) {
      return projections.create(new Linear(params.get(prefix + ".weight"), params.get(prefix + ".bias"), true));
    }

    final class Cache {
      LayerNorm.Cache n1;
      INDArray h1;
      CausalSelfAttention.Cache attn;
      INDArray a;
      LayerNorm.Cache n2;
      GeluMlp.Cache mlp;
    }

    INDArray[] split(INDArray qkv) {
      long e = cfg.hiddenSize();
      INDArray[] out = new INDArray[3];
      for (int j = 0; j < 3; j++) {
        out[j] = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(j * e, (j + 1) * e)).dup('c');
      }
      return out;
    }

    INDArray forward(INDArray x, AttentionMask mask, Cache cache) {
      LayerNorm.Cache[] nc = new LayerNorm.Cache[1];
      INDArray h1 = ln1.forward(x, cache == null ? null : nc);
      INDArray[] qkv = split(cAttn.forward(h1));
      CausalSelfAttention.Cache[] ac = new CausalSelfAttention.Cache[1];
      INDArray a = attn.forward(qkv[0], qkv[1], qkv[2], mask, cache == null ? null : ac);
      INDArray x2 = cProj.forward(a).addi(x);
      LayerNorm.Cache[] nc2 = new LayerNorm.Cache[1];
      GeluMlp.Cache[] mc = new GeluMlp.Cache[1];
      INDArray out = mlp.forward(ln2.forward(x2, cache == null ? null : nc2), cache == null ? null : mc).addi(x2);
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

    INDArray backward(INDArray dOut, Cache c) {
      INDArray dx2 = ln2.backward(mlp.backward(dOut, c.mlp), c.n2).addi(dOut);
      CausalSelfAttention.Grads g = attn.backward(cProj.backward(dx2, c.a), c.attn);
      INDArray dqkv = Nd4j.hstack(g.dq(), g.dk(), g.dv());
      return ln1.backward(cAttn.backward(dqkv, c.h1), c.n1).addi(dx2);
    }

    INDArray decode(INDArray x, KvCache cache, int layer, int start, int tn) {
      INDArray[] qkv = split(cAttn.forward(ln1.forward(x, null)));
      int heads = cfg.numHeads(), d = cfg.headDim();
      cache.keys(layer).get(NDArrayIndex.all(), NDArrayIndex.interval(start, start + tn), NDArrayIndex.all())
          .assign(qkv[1].reshape('c', tn, heads, d).permute(1, 0, 2));
      cache.values(layer).get(NDArrayIndex.all(), NDArrayIndex.interval(start, start + tn), NDArrayIndex.all())
          .assign(qkv[2].reshape('c', tn, heads, d).permute(1, 0, 2));
      INDArray a = attn.attendCached(qkv[0], cache.keys(layer), cache.values(layer), start, tn, 0);
      INDArray x2 = cProj.forward(a).addi(x);
      return mlp.forward(ln2.forward(x2, null), null).addi(x2);
    }
  }

  private INDArray embed(int[] ids, int[] positions) {
    for (int p : positions) {
      if (p >= cfg.maxPositions()) {
        throw new IllegalArgumentException("position " + p + " exceeds n_positions " + cfg.maxPositions()
            + " of this GPT-2 model; use shorter sequences");
      }
    }
    return wte.forward(ids).addi(wpe.forward(positions));
  }

  private AttentionMask mask(Batch b) {
    return new AttentionMask(b.batchSize(), b.seqLen(), b.attentionMask(), b.segmentIds(), 0, 1,
        attentionBlock, params.computeType());
  }

  @Override
  public INDArray logits(Batch batch) {
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      return lmHead.forward(lnF.forward(hidden(batch), null)).detach();
    }
  }

  private INDArray hidden(Batch batch) {
    AttentionMask mask = mask(batch);
    INDArray x = embed(batch.flatIds(), batch.flatPositions());
    for (Block blk : blocks) x = blk.forward(x, mask, null);
    return x;
  }

  @Override
  public Loss[] rowLosses(Batch batch) {
    LlamaModel.requireLabels(batch);
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      LmHeadLoss.Result[] r = LmHeadLoss.perSequence(lmHead, lnF.forward(hidden(batch), null),
          CrossEntropy.shiftedTargets(batch.labels()), batch.inputIds().length, cfg.vocabSize());
      return java.util.Arrays.stream(r).map(x -> new Loss(x.sum(), x.count())).toArray(Loss[]::new);
    }
  }

  @Override
  public Loss loss(Batch batch) {
    LlamaModel.requireLabels(batch);
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      INDArray hf = lnF.forward(hidden(batch), null);
      LmHeadLoss.Result r = LmHeadLoss.apply(lmHead, hf, CrossEntropy.shiftedTargets(batch.labels()),
          cfg.vocabSize(), 0, false);
      return new Loss(r.sum(), r.count());
    }
  }

  @Override
  public Loss forwardBackward(Batch batch, double gradScale) {
    LlamaModel.requireLabels(batch);
    try (MemoryWorkspace ws = Workspaces.open(Workspaces.STEP)) {
      AttentionMask mask = mask(batch);
      int[] ids = batch.flatIds();
      int[] positions = batch.flatPositions();
      BlockStack<Block.Cache> stack = new BlockStack<>(new BlockStack.Blocks<>() {
        public int size() {
          return blocks.length;
        }

        public Block.Cache newCache(int i) {
          return blocks[i].new Cache();
        }

        public INDArray forward(int i, INDArray x, Block.Cache c) {
          return blocks[i].forward(x, mask, c);
        }

        public INDArray backward(int i, INDArray dy, Block.Cache c) {
          return blocks[i].backward(dy, c);
        }
      }, checkpointing);
      INDArray x = stack.forward(embed(ids, positions));
      LayerNorm.Cache[] fc = new LayerNorm.Cache[1];
      INDArray hf = lnF.forward(x, fc);
      int[] targets = CrossEntropy.shiftedTargets(batch.labels());
      LmHeadLoss.Result r = LmHeadLoss.apply(lmHead, hf, targets, cfg.vocabSize(), gradScale, true);
      INDArray dx = lnF.backward(r.dHidden(), fc[0]);
      dx = stack.backward(dx);
      wte.backward(dx, ids);
      wpe.backward(dx, positions);
      return new Loss(r.sum(), r.count());
    }
  }

  @Override
  public KvCache newCache(int capacity) {
    return new KvCache(cfg.numLayers(), cfg.numHeads(), cfg.headDim(), capacity, params.computeType());
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
    INDArray x = embed(tokens, positions);
    for (int l = 0; l < blocks.length; l++) x = blocks[l].decode(x, cache, l, start, tokens.length);
    cache.advance(tokens.length);
    INDArray last = x.getRow(tokens.length - 1, true);
    return lmHead.forward(lnF.forward(last, null)).reshape(cfg.vocabSize());
  }
}
