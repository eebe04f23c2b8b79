package io.laketune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.MemoryPlan;
import io.laketune.model.ModelConfig;
import io.laketune.nn.OpProfile;
import io.laketune.nn.Param;
import io.laketune.nn.ParamStore;
import io.laketune.optim.AdamW;
import io.laketune.optim.ParamGroups;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import io.laketune.quant.ModelQuantizer;
import java.util.List;
import io.laketune.nn.Workspaces;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training-step throughput (forward, backward, gradient clipping and the trainer's AdamW update) of fp32 training on a Llama-shaped model (hidden 512, 8 layers,
 * 8 heads, intermediate 1408, vocab 8192; batch 4 x seq 256 by default), printed as tokens/s and
 * MFU. MFU counts 6 N FLOPs per token for the N weights used in matrix products (all but the
 * embedding lookup) plus 12 L C T for attention scores and values, and divides by the rate of a
 * large fp32 GEMM measured on this machine in the same run (the practical peak).
 *
 * <p>Run: {@code bin/laketune bench [--method FULL|LORA|QLORA --batch B --seq T --steps S --profile]}.
 */
public final class TrainStepBenchmark {
  /** The benchmark model's config.json. */
  public static final String CONFIG = """
      {"model_type":"llama","vocab_size":8192,"hidden_size":512,"intermediate_size":1408,
       "num_hidden_layers":8,"num_attention_heads":8,"num_key_value_heads":8,"rms_norm_eps":1e-5,
       "tie_word_embeddings":false,"max_position_embeddings":131072}""";

  /** What is trained: every weight, or LoRA r=16 on all linear modules over a frozen base. */
  public enum Method { FULL, LORA, QLORA }

  public static void main(String[] args) throws Exception {
    run(args.length > 0 ? Integer.parseInt(args[0]) : 4, args.length > 1 ? Integer.parseInt(args[1]) : 256,
        args.length > 2 ? Integer.parseInt(args[2]) : 5, args.length > 3 ? Method.valueOf(args[3]) : Method.FULL);
  }

  public static void run(int batch, int seq, int steps, Method method) throws Exception {
    run(batch, seq, steps, method, false, 2, false);
  }

  /**
   * @param checkpointing recompute each block's activations in backward (activation checkpointing)
   * @param warmup untimed steps first (the workspaces are created at their {@link MemoryPlan} sizes first)
   * @param profile print the timed steps' breakdown by kind of op ({@link OpProfile})
   */
  public static void run(int batch, int seq, int steps, Method method, boolean checkpointing, int warmup,
      boolean profile) throws Exception {
    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(CONFIG), "benchmark config");
    LoraModel lora = method != Method.FULL
        ? LoraModel.plan(cfg, LoraConfig.of(16, 32, List.of(LoraConfig.ALL_LINEAR))) : null;
    CausalLm model = lora == null ? HfModels.create(cfg, HfModels.Options.fullTraining())
        : lora.build(DataType.FLOAT, method == Method.QLORA ? DataType.BFLOAT16 : DataType.FLOAT);
    Nd4j.getRandom().setSeed(1);
    for (String name : HfModels.parameterShapes(cfg).keySet()) {
      Param p = model.params().get(name);
      INDArray v = Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.02);
      if (p.shape().length == 1) v.addi(1.0);
      p.set(v);
    }
    if (method == Method.QLORA) ModelQuantizer.quantizeFrozenLinears(model.params(), ModelQuantizer.Settings.qlora());
    if (lora != null) lora.initialise(2);
    model.setActivationCheckpointing(checkpointing);
    MemoryPlan.of(new MemoryPlan.Setup(cfg, MemoryPlan.Method.valueOf(method.name()), lora == null ? null : lora.config(),
        method == Method.QLORA, method == Method.QLORA ? ModelQuantizer.Settings.qlora() : null, batch, seq, checkpointing, 1))
        .reserveWorkspaces();
    Random rnd = new Random(1);
    int[][] ids = new int[batch][seq];
    for (int[] row : ids) for (int t = 0; t < seq; t++) row[t] = rnd.nextInt(cfg.vocabSize());
    Batch b = Batch.of(ids, ids);

    long matmulParams = model.params().totalCount() - (long) cfg.vocabSize() * cfg.hiddenSize();
    // Full: 2N forward + 4N backward (input and weight gradients). LoRA: frozen weights need no weight
    // gradient, so 4N over the base (the adapter's own FLOPs are counted with 6 per weight).
    long adapter = lora == null ? 0 : model.params().trainableCount();
    double flopsPerToken = lora == null ? 6.0 * matmulParams + 12.0 * cfg.numLayers() * cfg.hiddenSize() * seq
        : 4.0 * (matmulParams - adapter) + 6.0 * adapter + 8.0 * cfg.numLayers() * cfg.hiddenSize() * seq;
    double peak = gemmPeak();

    // The trainer's optimizer at its defaults (reference.conf): AdamW over the flat trainable vector
    // with its parameter groups, after clipping the global gradient norm to 1.
    ParamStore ps = model.params();
    AdamW opt = new AdamW(ps.flatValues(), new AdamW.Hyper(0.9, 0.999, 1e-8, 0.0), ParamGroups.of(ps, 0));
    Runnable step = () -> {
      ps.zeroGrads();
      model.forwardBackward(b, 1.0 / (batch * (seq - 1)));
      long t = OpProfile.start();
      AdamW.clipGradNorm(ps.flatGrads(), 1.0);
      opt.step(ps.flatValues(), ps.flatGrads(), 2e-4);
      OpProfile.stop(OpProfile.Kind.OPTIMIZER, t);
    };
    for (int w = 0; w < warmup; w++) step.run();
    OpProfile.enable(profile);
    long t0 = System.nanoTime();
    for (int s = 0; s < steps; s++) step.run();
    double seconds = (System.nanoTime() - t0) / 1e9;
    OpProfile.enable(false);
    double tokensPerSec = (double) batch * seq * steps / seconds;
    double achieved = tokensPerSec * flopsPerToken;
    System.out.printf("model: %,d parameters (%,d in matmuls), %s, batch %d x seq %d, fp32, %s threads%n",
        model.params().totalCount(), matmulParams, lora == null ? "full training"
            : (method == Method.QLORA ? "QLoRA (NF4 + double quant, bf16 rest)" : "LoRA") + " r=16 all-linear, " + lora.trainableSummary(),
        batch, seq, System.getenv().getOrDefault("OMP_NUM_THREADS", "default"));
    System.out.printf("activation checkpointing: %s%n", checkpointing ? "on" : "off");
    System.out.printf("forward+backward+AdamW: %.3f s/step, %.0f tokens/s, %.1f GFLOP/s achieved%n",
        seconds / steps, tokensPerSec, achieved / 1e9);
    if (profile) printProfile(seconds, steps);
    if (lora != null) {
      System.out.printf("frozen weights resident: %.4f bytes per parameter%n", ModelQuantizer.bytesPerFrozenParameter(model.params()));
    }
    System.out.printf("step workspace: %,d MB%n",
        Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(Workspaces.STEP).getCurrentSize() >> 20);
    System.out.printf("off-heap now: %,d MB allocated by ND4J/JavaCPP, %,d MB resident%n",
        org.bytedeco.javacpp.Pointer.totalBytes() >> 20, org.bytedeco.javacpp.Pointer.physicalBytes() >> 20);
    System.out.printf("fp32 GEMM peak measured here (2048^3 Nd4j.gemm): %.1f GFLOP/s -> MFU %.1f%%%n",
        peak / 1e9, 100 * achieved / peak);
  }

  /** Milliseconds per step by kind of op (exclusive), and what no span covered. */
  private static void printProfile(double seconds, int steps) {
    double stepMs = seconds * 1e3 / steps, covered = 0;
    System.out.printf("profile (ms per step, exclusive, %% of the step):%n");
    for (OpProfile.Kind k : OpProfile.Kind.values()) {
      double ms = OpProfile.nanos(k) / 1e6 / steps;
      covered += ms;
      if (ms > 0) System.out.printf("  %-52s %8.1f %5.1f%%%n", k.label, ms, 100 * ms / stepMs);
    }
    System.out.printf("  %-52s %8.1f %5.1f%%%n", "other (outside every span)", stepMs - covered, 100 * (stepMs - covered) / stepMs);
  }

  /** Best of several 2048 x 2048 x 2048 fp32 GEMMs into a preallocated output, FLOP/s. */
  static double gemmPeak() {
    return Gemm.bestRate(2048, 6);
  }
}
