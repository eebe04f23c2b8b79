package io.laketune.ml;

import io.laketune.model.CausalLm;
import io.laketune.peft.LoraModel;
import io.laketune.quant.ModelQuantizer;
import io.laketune.train.ModelSpec;
import io.laketune.train.Replicas;
import io.laketune.train.TrainConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * The models a {@link LaketuneModel#transform} task scores with, cached per executor JVM: the frozen
 * base once per (checkpoint, quantisation) — the trainer's own cache, {@link Replicas#base} — and each
 * adapter attached over it once, in a pool so that concurrent tasks of one executor each borrow their own.
 */
final class ScoringModels {
  private static final Map<String, ConcurrentLinkedDeque<CausalLm>> POOLS = new ConcurrentHashMap<>();
  private static final Map<String, Path> ADAPTER_DIRS = new ConcurrentHashMap<>();

  private ScoringModels() {}

  /** The base's spec: fp32 frozen weights (as {@code laketune eval} loads them), 4-bit where quantize is given. */
  static ModelSpec spec(String model, ModelQuantizer.Settings quantize) {
    return new ModelSpec(model, quantize == null ? TrainConfig.Method.LORA : TrainConfig.Method.QLORA, null, quantize,
        false, false);
  }

  /** A model of the base with {@code adapter} over it (null: the bare base); give it back with {@link #release}. */
  static CausalLm borrow(ModelSpec spec, AdapterFiles adapter) {
    CausalLm base = Replicas.base(spec);
    if (adapter == null) return base;
    CausalLm m = POOLS.computeIfAbsent(key(spec, adapter), k -> new ConcurrentLinkedDeque<>()).pollFirst();
    if (m != null) return m;
    try {
      Path dir = ADAPTER_DIRS.computeIfAbsent(adapter.sha256(), k -> {
        try {
          return adapter.writeTemp();
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write the broadcast adapter to local disk: " + e.getMessage(), e);
        }
      });
      return LoraModel.attach(base, dir).model();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the adapter over " + spec.model() + ": " + e.getMessage(), e);
    }
  }

  static void release(ModelSpec spec, AdapterFiles adapter, CausalLm m) {
    if (adapter != null) POOLS.get(key(spec, adapter)).addFirst(m);
  }

  private static String key(ModelSpec spec, AdapterFiles adapter) {
    return spec.model() + "|" + spec.quantize() + "|" + adapter.sha256();
  }
}
