package io.laketune.model;

import io.laketune.nn.AttentionMask;
import io.laketune.nn.CausalSelfAttention;
import io.laketune.nn.LmHeadLoss;
import io.laketune.nn.Workspaces;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import io.laketune.peft.LoraTarget;
import io.laketune.quant.ModelQuantizer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The peak memory of one training step, predicted from the architecture and laketune's allocation
 * scheme rather than measured: every array a Llama-family forward/backward allocates is counted
 * where it is allocated (which ND4J workspace), with its shape.
 *
 * <p>ND4J workspaces are bump allocators: nothing made inside a scope is freed before the scope
 * closes, so a workspace's size is the sum of every array allocated during its largest cycle, not
 * the largest live set. The step workspace ({@link Workspaces#STEP}) holds the embedding, the mask,
 * the RoPE rows, every block's output and input gradient (under activation checkpointing) or every
 * block's whole forward and backward (without it); the block workspace holds one block's recompute
 * and backward; the tile workspace one attention tile pair; the chunk workspace one chunk of
 * lm_head logits and cross-entropy. Sizes count 4-byte floats per token (N = B*T rows) as the layer
 * code allocates them; the comments name the arrays. Resident weights count their stored bytes;
 * narrow (bf16, 4-bit) frozen weights also keep one fp32 expansion buffer per distinct shape and
 * thread ({@code DequantScratch}).
 *
 * <p>Per executor, each concurrent task has its own workspaces, scratch buffers and (LoRA)
 * adapter replica over one shared frozen base.
 */
public final class MemoryPlan {
  /** What is trained. */
  public enum Method { FULL, LORA, QLORA }

  /**
   * One step's setting.
   *
   * @param lora the adapter (null for full training)
   * @param frozenBf16 frozen weights stored as bf16 (LoRA; QLoRA's non-linear frozen weights too)
   * @param quantize QLoRA's 4-bit settings (null otherwise)
   * @param tasks concurrent tasks (threads) training in one executor JVM
   */
  public record Setup(ModelConfig model, Method method, LoraConfig lora, boolean frozenBf16,
      ModelQuantizer.Settings quantize, int microBatch, int seqLen, boolean checkpointing, int tasks) {}

  /** One line of the breakdown. */
  public record Item(String what, long bytes, String detail) {}

  /**
   * What a task running ND4J's GEMMs and ops keeps resident beyond the arrays counted here (the
   * oneDNN/OpenBLAS packing buffers, JIT-compiled code, per-thread allocator arenas). Not derived
   * from the architecture: measured by {@code MemoryPlanTest}'s probe as the resident growth over two
   * steps less the workspaces and optimizer state, 30 to 96 MB over its cases and runs (it varies
   * from run to run); this is their median.
   */
  static final long RUNTIME_BYTES = 56L << 20;

  private final Setup setup;
  private final Map<String, Long> workspaces;
  private final List<Item> items;

  private MemoryPlan(Setup setup, Map<String, Long> workspaces, List<Item> items) {
    this.setup = setup;
    this.workspaces = workspaces;
    this.items = items;
  }

  /** The prediction for a Llama-family model; other families are refused with a sentence. */
  public static MemoryPlan of(Setup s) {
    if (!(s.model() instanceof LlamaConfig c)) {
      throw new IllegalArgumentException("the memory plan models the Llama family (llama, mistral, qwen2) only,"
          + " not model_type " + s.model().modelType());
    }
    if (s.lora() != null && s.lora().useDora()) {
      throw new IllegalArgumentException("the memory plan does not model DoRA (lora.use_dora = true) yet");
    }
    long n = (long) s.microBatch() * s.seqLen();
    Widths w = new Widths(c, s);
    Map<String, Long> ws = new LinkedHashMap<>();
    // A block keeps its forward and the two halves' results (dx2, dx [N, C]); each half of its
    // backward runs in the half workspace, which is as large as the larger half.
    long block = n * (w.blockForward() + 2 * c.hiddenSize());
    long step = n * w.stepOutside(c.headDim(), s.lora() != null && s.frozenBf16()) + maskBytes(c, s) / 4;
    if (s.checkpointing()) step += 2L * c.numLayers() * n * c.hiddenSize(); // each block's output and dx
    else step += c.numLayers() * block;
    ws.put(Workspaces.STEP, reserved(4 * step));
    if (s.checkpointing()) ws.put(Workspaces.BLOCK, reserved(4 * block));
    ws.put(Workspaces.HALF, reserved(4 * n * Math.max(w.mlpBackward(), w.attentionBackward())));
    ws.put(CausalSelfAttention.TILE, reserved(tileBytes(c, s)));
    ws.put(LmHeadLoss.CHUNK, reserved(chunkBytes(c, s)));

    Map<String, long[]> shapes = HfModels.parameterShapes(c);
    Set<String> trainable = new HashSet<>();
    Map<String, long[]> adapter = new LinkedHashMap<>();
    if (s.lora() == null) {
      trainable.addAll(shapes.keySet());
    } else {
      LoraModel plan = LoraModel.plan(c, s.lora());
      adapter.putAll(plan.adapterShapes());
      trainable.addAll(plan.trainableNames());
    }
    long frozen = 0, frozenCount = 0, weights = 0, adapterCount = 0;
    Map<String, long[]> scratch = new HashMap<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long count = count(e.getValue());
      if (trainable.contains(e.getKey())) {
        weights += count;
        continue;
      }
      frozenCount += count;
      boolean packed = s.quantize() != null && ModelQuantizer.isQuantizable(e.getKey());
      frozen += packed ? packedBytes(count, s.quantize()) : count * (s.frozenBf16() ? 2 : 4);
      boolean expanded = packed || s.frozenBf16() && !e.getKey().equals("model.embed_tokens.weight");
      if (expanded && e.getValue().length == 2) scratch.put(java.util.Arrays.toString(e.getValue()), e.getValue());
    }
    for (long[] a : adapter.values()) adapterCount += count(a);
    long trainableCount = weights + adapterCount;
    long scratchBytes = 0;
    for (long[] shape : scratch.values()) scratchBytes += 4 * count(shape);
    long perTask = 0;
    for (long b : ws.values()) perTask += b;
    perTask += scratchBytes;

    List<Item> items = new java.util.ArrayList<>();
    items.add(new Item("frozen weights", frozen, frozenCount == 0 ? "none"
        : String.format("%,d parameters, %s", frozenCount, s.quantize() != null ? "4-bit linears, " + (s.frozenBf16() ? "bf16" : "fp32") + " rest"
            : s.frozenBf16() ? "bf16" : "fp32")));
    items.add(new Item("trainable weights", 4 * weights * replicas(s), weights == 0 ? "none"
        : String.format("%,d parameters, fp32", weights)));
    items.add(new Item("adapters", 4 * adapterCount * replicas(s), adapterCount == 0 ? "none"
        : String.format("%,d parameters, fp32", adapterCount)));
    items.add(new Item("gradients", 4 * trainableCount * replicas(s), "fp32, one per trainable parameter"));
    items.add(new Item("optimizer state", 8 * trainableCount, "AdamW first and second moments, fp32"));
    items.add(new Item("activations (workspaces)", perTask * s.tasks() - scratchBytes * s.tasks(), workspaceDetail(ws)));
    items.add(new Item("expansion buffers", scratchBytes * s.tasks(), scratch.size() + " fp32 buffers per task for narrow frozen weights"));
    items.add(new Item("compute runtime", RUNTIME_BYTES * s.tasks(), "GEMM packing buffers, JIT code, allocator arenas (measured, see MemoryPlanTest)"));
    return new MemoryPlan(s, ws, List.copyOf(items));
  }

  public Setup setup() {
    return setup;
  }

  /** The breakdown, without the JVM. */
  public List<Item> items() {
    return items;
  }

  /** Predicted bytes of each ND4J workspace of one task, by name. */
  public Map<String, Long> workspaces() {
    return workspaces;
  }

  /** Everything laketune allocates off the Java heap in one executor (all tasks). */
  public long offHeapBytes() {
    long sum = 0;
    for (Item i : items) sum += i.bytes();
    return sum;
  }

  /** The predicted peak of an executor JVM: its heap limit and its own native memory plus {@link #offHeapBytes}. */
  public long peakBytes(long heapBytes, long jvmNativeBytes) {
    return heapBytes + jvmNativeBytes + offHeapBytes();
  }

  /**
   * Creates this thread's workspaces at their predicted sizes, so the first step carves its arrays
   * out of them instead of spilling into separate allocations (which the C allocator keeps resident
   * after they are freed) and then allocating the learned workspace on top. A prediction that falls
   * short only means the old behaviour: the workspace spills and grows. Does nothing for workspaces
   * this thread already has.
   */
  public void reserveWorkspaces() {
    for (Map.Entry<String, Long> e : workspaces.entrySet()) Workspaces.reserve(e.getKey(), e.getValue());
  }

  /** The breakdown as the plan command prints it, one line per item, then the JVM and the total. */
  public String format(long heapBytes, long jvmNativeBytes) {
    Setup s = setup;
    StringBuilder b = new StringBuilder();
    b.append(String.format("memory plan: %s, %s, micro-batch %d x seq_len %d, activation checkpointing %s, %d task%s per executor%n",
        s.model().modelType(), s.method().name().toLowerCase(java.util.Locale.ROOT), s.microBatch(), s.seqLen(),
        s.checkpointing() ? "on" : "off", s.tasks(), s.tasks() == 1 ? "" : "s"));
    for (Item i : items) b.append(String.format("  %-26s %10s  %s%n", i.what(), mb(i.bytes()), i.detail()));
    b.append(String.format("  %-26s %10s  heap limit (-Xmx / spark.executor.memory)%n", "JVM heap", mb(heapBytes)));
    b.append(String.format("  %-26s %10s  the JVM's own resident memory besides the heap (classes, code, native libraries)%n",
        "JVM native", mb(jvmNativeBytes)));
    b.append(String.format("  %-26s %10s  predicted peak per executor (off-heap %s)%n", "total", mb(peakBytes(heapBytes, jvmNativeBytes)),
        mb(offHeapBytes())));
    return b.toString();
  }


  /** Trainable replicas per executor: full training has one model per task, LoRA one adapter per task. */
  private static int replicas(Setup s) {
    return s.tasks();
  }

  private static String workspaceDetail(Map<String, Long> ws) {
    StringBuilder b = new StringBuilder();
    for (Map.Entry<String, Long> e : ws.entrySet()) {
      if (b.length() > 0) b.append(", ");
      b.append(e.getKey().replace("laketune-", "")).append(' ').append(mb(e.getValue()));
    }
    return b.toString();
  }

  /** What {@link Workspaces#reserve} creates for a predicted cycle of {@code bytes}. */
  static long reserved(long bytes) {
    return Workspaces.reservedSize(bytes);
  }

  static String mb(long bytes) {
    return String.format("%,d MB", Math.round(bytes / 1048576.0));
  }

  static long count(long[] shape) {
    long n = 1;
    for (long d : shape) n *= d;
    return n;
  }

  /** QuantizedTensor's resident bytes: 4-bit codes, and per 64-block absmax (fp32, or 8-bit plus nested fp32 per 256). */
  static long packedBytes(long count, ModelQuantizer.Settings q) {
    long blocks = (count + q.blocksize() - 1) / q.blocksize();
    return (count + 1) / 2 + (q.doubleQuant() ? blocks + 4 * ((blocks + 255) / 256) + 4 : 4 * blocks);
  }

  /** The mask's distinct partial tiles (causal, one document per row: the diagonal tile shape), fp32. */
  static long maskBytes(LlamaConfig c, Setup s) {
    int blk = Math.min(AttentionMask.DEFAULT_BLOCK, s.seqLen());
    int g = c.numHeads() / c.numKvHeads();
    long tiles = s.seqLen() % blk == 0 || s.seqLen() < blk ? 1 : 2;
    long last = s.seqLen() % blk;
    return 4L * g * ((long) blk * blk + (tiles == 2 ? last * last : 0));
  }

  /** Backward's tile pair: P and dS of [block * G, block]. */
  static long tileBytes(LlamaConfig c, Setup s) {
    long blk = Math.min(AttentionMask.DEFAULT_BLOCK, s.seqLen());
    return 2 * 4 * blk * c.numHeads() / c.numKvHeads() * blk;
  }

  /**
   * One chunk of labelled rows: the gathered hidden rows [R, C], logits [R, V], shifted logits = the
   * probabilities [R, V], dx [R, C], and per-row max, sum, log-sum-exp and the keep mask.
   */
  static long chunkBytes(LlamaConfig c, Setup s) {
    long labelled = (long) s.microBatch() * (s.seqLen() - 1);
    long rows = Math.min(labelled, LmHeadLoss.chunkRows(c.vocabSize()));
    return 4 * rows * (2L * c.vocabSize() + 2L * c.hiddenSize() + 6);
  }

  /** Floats per token of one block's allocations, by layer, as the layer code makes them. */
  private static final class Widths {
    final long cc, q, kv, inter, heads;
    final boolean full;
    final double dropout;
    final Set<String> targeted = new HashSet<>();
    final Map<String, Integer> ranks = new HashMap<>();
    final boolean trainableNorms;

    Widths(LlamaConfig c, Setup s) {
      cc = c.hiddenSize();
      q = (long) c.numHeads() * c.headDim();
      kv = (long) c.numKvHeads() * c.headDim();
      inter = c.intermediateSize();
      heads = c.numHeads();
      full = s.lora() == null;
      dropout = full ? 0 : s.lora().dropout();
      if (!full) {
        for (LoraTarget t : LoraModel.plan(c, s.lora()).targets()) {
          String name = t.module().name();
          String kind = name.substring(name.lastIndexOf('.') + 1);
          targeted.add(kind);
          ranks.merge(kind, t.r(), Math::max);
        }
      }
      trainableNorms = full;
    }

    /**
     * Linear: y [N, out]. LoRA: h [N, r] and y [N, out] (s h B^T is added into y by the GEMM), with
     * dropout drop(x) (mask and product).
     */
    long projForward(String kind, long in, long out) {
      if (!targeted.contains(kind)) return out;
      return out + ranks.get(kind) + (dropout > 0 ? 2 * in : 0);
    }

    /**
     * Linear: dx [N, in]. LoRA: h, dx, dh (dh A is added into dx by the GEMM); with dropout drop(x)
     * again, the mask for undrop and dh A apart, dxd.
     */
    long projBackward(String kind, long in) {
      if (!targeted.contains(kind)) return in;
      return in + 2L * ranks.get(kind) + (dropout > 0 ? 4 * in : 0);
    }

    /** RmsNorm forward: x*x [N, C], mean and rstd [N, 1], y [N, C]. */
    long normForward() {
      return 2 * cc + 2;
    }

    /** RmsNorm backward: xhat, w*dy, (w*dy)*xhat [N, C], their mean; dW's dy*xhat when trained. */
    long normBackward() {
      return 3 * cc + 1 + (trainableNorms ? cc : 0);
    }

    /** RoPE either way, width W: y [N, W] and four half-width products. */
    static long rope(long width) {
      return 3 * width;
    }

    long blockForward() {
      return normForward() + projForward("q_proj", cc, q) + projForward("k_proj", cc, kv) + projForward("v_proj", cc, kv)
          + rope(q) + rope(kv)
          + 3 * q + 2 * kv + 2 * heads // attention: q, k, v regrouped, out, row max and sum, out back to [N, H*D]
          + projForward("o_proj", q, cc) + normForward()
          + projForward("gate_proj", cc, inter) + projForward("up_proj", cc, inter) + inter // silu(g) * u
          + projForward("down_proj", inter, cc);
    }

    long mlpBackward() {
      return projBackward("down_proj", inter) + 3 * inter // sigmoid(g), du, silu'(g)
          + projBackward("gate_proj", cc) + projBackward("up_proj", cc) + normBackward();
    }

    long attentionBackward() {
      return projBackward("o_proj", q)
          + 4 * q + 4 * kv + 2 * heads // attention: dO regrouped, dO*O, its row sum, 1/l, dq, dk, dv and back
          + rope(q) + rope(kv)
          + projBackward("q_proj", cc) + projBackward("k_proj", cc) + projBackward("v_proj", cc) + normBackward();
    }

    /**
     * The step outside the blocks: RoPE cos and sin rows [N, D/2] each, the embedding rows (and their
     * fp32 copy from bf16), the final norm forward and backward, lm_head's dHidden [N, C].
     */
    long stepOutside(int headDim, boolean bf16Embedding) {
      return headDim + (bf16Embedding ? cc / 2 + cc : cc) + normForward() + cc + normBackward();
    }
  }
}
