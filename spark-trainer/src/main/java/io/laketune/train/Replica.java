package io.laketune.train;

import io.laketune.model.CausalLm;
import io.laketune.model.MemoryPlan;
import io.laketune.peft.AdapterState;
import io.laketune.peft.LoraModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One trainable copy of the model on a worker: the frozen base shared with the JVM's other
 * replicas, its own trainable parameters (the adapter for LoRA, everything for full training).
 * A replica serves one task at a time.
 */
final class Replica {
  final CausalLm model;
  final LoraModel lora;
  /** True until the trainable values are first overwritten: they are still the base checkpoint's. */
  boolean pristine = true;

  private final ModelSpec spec;

  Replica(CausalLm model, LoraModel lora, ModelSpec spec) {
    this.model = model;
    this.lora = lora;
    this.spec = spec;
  }

  /**
   * One micro-batch's forward and backward, summed loss gradients. The first one on a thread creates
   * that thread's workspaces at their {@link MemoryPlan} sizes (Llama family without DoRA).
   */
  io.laketune.model.Loss forwardBackward(io.laketune.model.Batch batch) {
    if (model.config() instanceof io.laketune.model.LlamaConfig && (lora == null || !lora.config().useDora())) {
      MemoryPlan.of(new MemoryPlan.Setup(model.config(), MemoryPlan.Method.valueOf(spec.method().name()),
          lora == null ? null : lora.config(), spec.method() != TrainConfig.Method.FULL && spec.frozenBf16(),
          spec.quantize(), batch.batchSize(), batch.seqLen(), spec.activationCheckpointing(), 1)).reserveWorkspaces();
    }
    return model.forwardBackward(batch, 1.0);
  }

  /** Sets the trainable parameters from the broadcast vector and zeroes the gradients. */
  void load(float[] values) {
    INDArray flat = model.params().flatValues();
    if (flat.length() != values.length) {
      throw new IllegalStateException("the broadcast holds " + values.length + " values but the replica trains "
          + flat.length() + "; driver and executors built different models");
    }
    flat.assign(Nd4j.createFromArray(values));
    model.params().zeroGrads();
    pristine = false;
  }

  float[] values() {
    return model.params().flatValues().toFloatVector();
  }

  float[] grads() {
    return model.params().flatGrads().toFloatVector();
  }

  /** Dropout on with masks from {@code seed} (adapters only; full training has no dropout here). */
  void train(long seed) {
    if (lora != null) lora.state().train(seed);
  }

  void eval() {
    if (lora != null) lora.state().eval();
  }

  AdapterState state() {
    return lora == null ? null : lora.state();
  }
}
