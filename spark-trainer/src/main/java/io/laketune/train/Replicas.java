package io.laketune.train;

import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.peft.LoraModel;
import io.laketune.quant.ModelQuantizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The JVM-wide model cache of an executor: the frozen base is loaded (and quantised) once and kept
 * across rounds; tasks borrow a replica — its own trainable parameters over the shared base — and
 * give it back. Only the trainable vector travels each round.
 */
public final class Replicas {
  private static final Map<String, CausalLm> BASES = new ConcurrentHashMap<>();
  private static final Map<String, ConcurrentLinkedDeque<Replica>> POOLS = new ConcurrentHashMap<>();

  private static final java.util.concurrent.atomic.AtomicLong LOADS = new java.util.concurrent.atomic.AtomicLong();

  private Replicas() {}

  /** Counts one load of a base model from its checkpoint in this JVM (the caches here, a driver's master copy). */
  static void countLoad() {
    LOADS.incrementAndGet();
  }

  /** Base models loaded from their checkpoints in this JVM so far: what the multi-tenant benchmark counts. */
  public static long baseLoads() {
    return LOADS.get();
  }

  /**
   * The frozen base of an adapter spec, loaded (and quantised) once per JVM and shared by every replica
   * and, on a driver of many tenants, by every tenant's adapter (and by io.laketune.ml's scoring on executors).
   */
  public static CausalLm base(ModelSpec spec) {
    io.laketune.platform.NativeBuilds.init();
    return BASES.computeIfAbsent(spec.baseKey(), k -> loadFrozen(LocalModelDir.of(spec.model()), spec));
  }

  static Replica borrow(ModelSpec spec) {
    // An executor picks the native build for its own CPU before its first model loads (the ND4J hook
    // would too); a CPU that none of the shipped builds suits fails the task with one sentence.
    io.laketune.platform.NativeBuilds.init();
    Replica r = POOLS.computeIfAbsent(spec.key(), k -> new ConcurrentLinkedDeque<>()).pollFirst();
    return r != null ? r : create(spec);
  }

  static void release(ModelSpec spec, Replica r) {
    POOLS.get(spec.key()).addFirst(r);
  }

  /** Builds a replica; for LoRA its adapter starts at zero and is set from the broadcast. */
  static Replica create(ModelSpec spec) {
    Path dir = LocalModelDir.of(spec.model());
    try {
      if (spec.method() == TrainConfig.Method.FULL) {
        countLoad();
        CausalLm m = HfModels.load(dir, HfModels.Options.fullTraining());
        m.setActivationCheckpointing(spec.activationCheckpointing());
        return new Replica(m, null, spec);
      }
      CausalLm base = BASES.computeIfAbsent(spec.baseKey(), k -> loadFrozen(dir, spec));
      LoraModel lora = LoraModel.attach(base, spec.lora());
      lora.model().setActivationCheckpointing(spec.activationCheckpointing());
      return new Replica(lora.model(), lora, spec);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the model " + spec.model() + ": " + e.getMessage(), e);
    }
  }

  private static CausalLm loadFrozen(Path dir, ModelSpec spec) {
    countLoad();
    try {
      CausalLm base = HfModels.load(dir, new HfModels.Options(DataType.FLOAT,
          spec.frozenBf16() ? DataType.BFLOAT16 : DataType.FLOAT, n -> false));
      if (spec.quantize() != null) ModelQuantizer.quantizeFrozenLinears(base.params(), spec.quantize());
      return base;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the model " + spec.model() + ": " + e.getMessage(), e);
    }
  }

  /** Drops every cached model (tests; a long-lived JVM switching models). */
  static void clear() {
    BASES.clear();
    POOLS.clear();
  }
}
