package io.laketune.train;

import com.typesafe.config.Config;
import io.laketune.config.ConfigValues;
import io.laketune.config.RunConfigLoader;
import io.laketune.optim.LrSchedule;
import io.laketune.peft.LoraConfig;
import io.laketune.quant.ModelQuantizer;
import io.laketune.quant.QuantType;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The resolved {@code laketune.train} section (see spark-trainer's reference.conf for every key). */
public record TrainConfig(String model, String data, String output, Method method, boolean frozenBf16,
    LoraConfig lora, ModelQuantizer.Settings quantize, int workers, SyncMode syncMode, int localSteps,
    int aggregationDepth, int microBatch, int accumulation, int epochs, long maxSteps, long seed,
    Optimizer optimizer, LrSchedule.Kind schedule, long warmupSteps, double warmupRatio, long evalEvery,
    int earlyStoppingPatience, boolean loadBestAtEnd, long checkpointEvery, int keepLast,
    boolean stopOnNonFinite, boolean activationCheckpointing, boolean exportMerged, long logEvery,
    Sharding sharding, Tenants tenants, String rendered) implements Serializable {

  public static final String ROOT = "laketune.train";

  public enum Method { FULL, LORA, QLORA }

  public enum SyncMode { GRADIENTS, PARAMETERS }

  /** sync.sharded: auto shards trainable vectors of at least sync.shard_threshold elements. */
  public enum Sharded { AUTO, TRUE, FALSE }

  /** The element type of the sharded path's gradient and parameter traffic (sync.payload). */
  public enum Payload {
    FP32(4), BF16(2);

    /** Bytes an element. */
    public final int bytes;

    Payload(int bytes) {
      this.bytes = bytes;
    }
  }

  /** The sharded path's settings (sync.sharded, .shard_threshold, .chunk_elements, .payload, .max_recoveries; checkpoint.max_file_bytes). */
  public record Sharding(Sharded mode, long threshold, int chunkElements, Payload payload, int maxRecoveries,
      long maxFileBytes) implements Serializable {
    /** Whether a trainable vector of {@code elements} goes the sharded way. */
    public boolean applies(long elements) {
      return mode == Sharded.TRUE || mode == Sharded.AUTO && elements >= threshold;
    }
  }

  /**
   * The tenants key: which tenants of a dataset prepared with tenants (tenant.column, tenant.inputs) get an adapter each, in
   * one job ({@link TenantTrainer}), and what each overrides.
   *
   * @param all tenants = all: every tenant the dataset holds
   * @param names the tenants listed (empty with all, and for a run of one dataset and one adapter)
   * @param overrides tenant_overrides: per tenant, keys of {@link #TENANT_KEYS} and their values
   */
  public record Tenants(boolean all, List<String> names, Map<String, Map<String, Object>> overrides)
      implements Serializable {
    /** Whether this run trains one adapter per tenant. */
    public boolean any() {
      return all || !names.isEmpty();
    }
  }

  /** The keys a tenant may override in tenant_overrides.NAME. */
  public static final List<String> TENANT_KEYS = List.of("max_steps", "epochs", "seed", "optimizer.lr", "lora.r",
      "lora.alpha", "lora.dropout");

  public record Optimizer(double lr, double beta1, double beta2, double eps, double weightDecay,
      double loraPlusRatio, double maxGradNorm) implements Serializable {}

  private static final List<String> FREE_FORM = List.of("lora.rank_pattern", "lora.alpha_pattern", "tenant_overrides");

  public static TrainConfig load(Path file, List<String> sets) {
    return read(new RunConfigLoader(ROOT, FREE_FORM).load(file, sets));
  }

  public static TrainConfig parse(Config user, List<String> sets) {
    return read(new RunConfigLoader(ROOT, FREE_FORM).layer(user, sets));
  }

  static TrainConfig read(Config c) {
    ConfigValues v = new ConfigValues(c, ROOT);
    Method method = v.choice("method", Method.class);
    String frozen = v.string("frozen_dtype");
    if (!frozen.equals("bf16") && !frozen.equals("fp32")) throw v.bad("frozen_dtype", "must be bf16 or fp32, not '" + frozen + "'");
    LoraConfig lora = null;
    if (method != Method.FULL) {
      List<String> targets = v.stringOrList("lora.target_modules");
      String regex = v.string("lora.regex");
      Map<String, Integer> ranks = new LinkedHashMap<>();
      v.numbers("lora.rank_pattern").forEach((k, x) -> ranks.put(k, x.intValue()));
      try {
        lora = new LoraConfig((int) v.integer("lora.r", 1, 65536), v.number("lora.alpha", 0, 1e9),
            v.number("lora.dropout", 0, 0.99), regex != null ? List.of() : targets, regex, v.string("lora.bias"),
            v.bool("lora.use_rslora"), v.bool("lora.use_dora"), v.string("lora.init"), false,
            v.stringOrList("lora.modules_to_save"), ranks, v.numbers("lora.alpha_pattern"), null, null);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(ROOT + ".lora: " + e.getMessage(), e);
      }
    }
    QuantType qt = v.choice("quantize.type", QuantType.class);
    ModelQuantizer.Settings quantize = method == Method.QLORA
        ? new ModelQuantizer.Settings(qt, 64, v.bool("quantize.double_quant")) : null;
    String nonFinite = v.string("non_finite");
    if (!nonFinite.equals("skip") && !nonFinite.equals("stop")) throw v.bad("non_finite", "must be skip or stop, not '" + nonFinite + "'");
    long maxSteps = v.integer("max_steps", -1, Long.MAX_VALUE);
    return new TrainConfig(v.required("model", "the base model directory (a Hugging Face checkpoint)"),
        v.required("data", "the prepared dataset directory (laketune prepare output)"),
        v.required("output", "the run directory to write checkpoints and metrics to"), method, frozen.equals("bf16"),
        lora, quantize, (int) v.integer("workers", 1, 100_000), v.choice("sync.mode", SyncMode.class),
        (int) v.integer("sync.local_steps", 1, 1_000_000), (int) v.integer("sync.aggregation_depth", 1, 16),
        (int) v.integer("batch.micro_batch_size", 1, 1_000_000), (int) v.integer("batch.gradient_accumulation", 1, 1_000_000),
        (int) v.integer("epochs", 1, 1_000_000), maxSteps, v.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE),
        new Optimizer(v.number("optimizer.lr", 0, 10), v.number("optimizer.beta1", 0, 0.999999),
            v.number("optimizer.beta2", 0, 0.99999999), v.number("optimizer.eps", 0, 1),
            v.number("optimizer.weight_decay", 0, 10), v.number("optimizer.loraplus_lr_ratio", 0, 1e6),
            v.number("optimizer.max_grad_norm", 0, 1e12)),
        v.choice("schedule.type", LrSchedule.Kind.class), v.integer("schedule.warmup_steps", 0, Long.MAX_VALUE),
        v.number("schedule.warmup_ratio", 0, 1), v.integer("eval.every_steps", 0, Long.MAX_VALUE),
        (int) v.integer("eval.early_stopping_patience", 0, 1_000_000), v.bool("eval.load_best_at_end"),
        v.integer("checkpoint.every_steps", 0, Long.MAX_VALUE), (int) v.integer("checkpoint.keep_last", 1, 1_000_000),
        nonFinite.equals("stop"), v.bool("activation_checkpointing"), v.bool("export_merged"),
        v.integer("log_every_steps", 1, Long.MAX_VALUE),
        new Sharding(v.choice("sync.sharded", Sharded.class), v.integer("sync.shard_threshold", 0, Long.MAX_VALUE),
            (int) v.integer("sync.chunk_elements", 1, Chunking.MAX_CHUNK_ELEMENTS), v.choice("sync.payload", Payload.class),
            (int) v.integer("sync.max_recoveries", 0, 1000), v.integer("checkpoint.max_file_bytes", 1, Long.MAX_VALUE)),
        tenants(v, method), c.root().render(com.typesafe.config.ConfigRenderOptions.concise().setJson(true)));
  }

  private static Tenants tenants(ConfigValues v, Method method) {
    Config c = v.raw();
    List<String> names;
    boolean all = false;
    if (c.getValue("tenants").valueType() == com.typesafe.config.ConfigValueType.STRING) {
      String one = c.getString("tenants").trim();
      all = one.equals("all");
      names = all || one.isEmpty() ? List.of() : List.of(one);
    } else {
      names = v.stringOrList("tenants");
      if (names.contains("all")) throw v.bad("tenants", "lists \"all\": give tenants = all, or a list of tenant names");
      if (new java.util.HashSet<>(names).size() != names.size()) throw v.bad("tenants", "names a tenant twice");
    }
    Map<String, Map<String, Object>> overrides = new java.util.TreeMap<>();
    Config o = c.getConfig("tenant_overrides");
    for (String tenant : o.root().keySet()) {
      if (o.root().get(tenant).valueType() != com.typesafe.config.ConfigValueType.OBJECT) {
        throw v.bad("tenant_overrides." + tenant, "must be a section of keys, like { max_steps = 100, optimizer.lr = 1e-4 }");
      }
      Map<String, Object> keys = new java.util.TreeMap<>();
      for (Map.Entry<String, com.typesafe.config.ConfigValue> e : o.getConfig(tenant).entrySet()) {
        if (!TENANT_KEYS.contains(e.getKey())) {
          throw v.bad("tenant_overrides." + tenant + "." + e.getKey(), "is not a key a tenant may override; those are "
              + String.join(", ", TENANT_KEYS));
        }
        keys.put(e.getKey(), e.getValue().unwrapped());
      }
      if (!all && !names.contains(tenant)) {
        throw v.bad("tenant_overrides." + tenant, "names a tenant that tenants does not list ("
            + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
      }
      overrides.put(tenant, keys);
    }
    Tenants t = new Tenants(all, names, overrides);
    if (t.any() && method == Method.FULL) {
      throw v.bad("tenants", "is set, but method = full trains the whole model: one adapter per tenant needs method = lora"
          + " or qlora");
    }
    return t;
  }

  /**
   * The configuration of one tenant of a multi-tenant run: this one with data and output at the
   * tenant's directories, its tenant_overrides applied and no tenants of its own; exactly what
   * {@code laketune train} of that tenant alone reads with --set data=... output=... and the same
   * overrides.
   */
  public TrainConfig forTenant(String tenant, String tenantData, String tenantOutput) {
    Map<String, Object> set = new LinkedHashMap<>();
    set.put("data", tenantData);
    set.put("output", tenantOutput);
    set.put("tenants", List.of());
    set.put("tenant_overrides", Map.of());
    set.putAll(tenants.overrides().getOrDefault(tenant, Map.of()));
    Config section = com.typesafe.config.ConfigFactory.parseString(rendered);
    for (Map.Entry<String, Object> e : set.entrySet()) {
      section = section.withValue(e.getKey(), com.typesafe.config.ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    try {
      return parse(section.atPath(ROOT), List.of());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("tenant " + tenant + ": " + e.getMessage(), e);
    }
  }

  /** Rows in one optimizer step across all workers. */
  public long globalBatchRows() {
    return (long) workers * microBatch * accumulation;
  }
}
