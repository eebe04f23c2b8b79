package io.laketune.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import io.laketune.quant.ModelQuantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A child JVM's training steps as {@code laketune bench} runs them (the benchmark model, zero base
 * weights, an AdamW, workspaces reserved from the {@link MemoryPlan}), printing one line
 * {@code probe: {...}}: the resident memory before the model exists and its peak after the steps
 * (VmRSS, VmHWM of /proc/self/status), the plan's off-heap prediction, and every workspace's size
 * and largest cycle. Run by {@link MemoryPlanTest} with a pre-touched fixed heap, so the heap adds
 * nothing to the difference.
 *
 * <p>Args: FULL|LORA|QLORA seq batch checkpointing steps.
 */
final class StepMemoryProbe {
  private StepMemoryProbe() {}

  static long status(String key) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith(key + ":")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
    throw new IllegalStateException("no " + key + " in /proc/self/status");
  }

  public static void main(String[] args) throws Exception {
    MemoryPlan.Method method = MemoryPlan.Method.valueOf(args[0]);
    int seq = Integer.parseInt(args[1]), batch = Integer.parseInt(args[2]), steps = Integer.parseInt(args[4]);
    boolean checkpointing = Boolean.parseBoolean(args[3]);
    Nd4j.create(DataType.FLOAT, 64, 64).mmul(Nd4j.create(DataType.FLOAT, 64, 64)); // native code and OpenMP threads up
    long before = status("VmRSS");

    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(io.laketune.bench.TrainStepBenchmark.CONFIG), "benchmark config");
    boolean qlora = method == MemoryPlan.Method.QLORA;
    LoraModel lora = method == MemoryPlan.Method.FULL ? null
        : LoraModel.plan(cfg, LoraConfig.of(16, 32, List.of(LoraConfig.ALL_LINEAR)));
    CausalLm model = lora == null ? HfModels.create(cfg, HfModels.Options.fullTraining())
        : lora.build(DataType.FLOAT, qlora ? DataType.BFLOAT16 : DataType.FLOAT);
    if (qlora) ModelQuantizer.quantizeFrozenLinears(model.params(), ModelQuantizer.Settings.qlora());
    if (lora != null) lora.initialise(2);
    model.setActivationCheckpointing(checkpointing);
    MemoryPlan plan = MemoryPlan.of(new MemoryPlan.Setup(cfg, method, lora == null ? null : lora.config(), qlora,
        qlora ? ModelQuantizer.Settings.qlora() : null, batch, seq, checkpointing, 1));
    long built = status("VmRSS");
    plan.reserveWorkspaces();
    long reserved = status("VmRSS");

    Random rnd = new Random(1);
    int[][] ids = new int[batch][seq];
    for (int[] row : ids) for (int t = 0; t < seq; t++) row[t] = rnd.nextInt(cfg.vocabSize());
    Batch b = Batch.of(ids, ids);
    io.laketune.optim.AdamW opt = new io.laketune.optim.AdamW(model.params().flatValues(),
        new io.laketune.optim.AdamW.Hyper(0.9, 0.999, 1e-8, 0));
    for (int s = 0; s < steps; s++) {
      model.params().zeroGrads();
      model.forwardBackward(b, 1.0 / (batch * (seq - 1)));
      opt.step(model.params().flatValues(), model.params().flatGrads(), 1e-4);
    }
    ObjectNode out = new ObjectMapper().createObjectNode();
    out.put("rss_before", before).put("rss_model", built).put("rss_reserved", reserved).put("hwm", status("VmHWM")).put("predicted_off_heap", plan.offHeapBytes());
    out.put("frozen_resident", io.laketune.quant.ModelQuantizer.frozenBytes(model.params()));
    out.put("trainable_resident", 4 * model.params().trainableCount());
    ObjectNode ws = out.putObject("workspaces");
    for (MemoryWorkspace w : Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread()) {
      ws.putObject(w.getId()).put("size", w.getCurrentSize()).put("max_cycle", w.getMaxCycleAllocations())
          .put("predicted", plan.workspaces().getOrDefault(w.getId(), -1L));
    }
    for (MemoryPlan.Item i : plan.items()) out.put(i.what(), i.bytes());
    System.out.println("probe: " + out);
  }
}
