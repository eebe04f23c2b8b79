package io.laketune.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.model.Loss;
import io.laketune.model.ModelConfig;
import io.laketune.optim.AdamW;
import io.laketune.optim.LrSchedule;
import io.laketune.quant.BnbConfig;
import io.laketune.train.data.RowSource;
import io.laketune.train.data.StepPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The driver loop of full fine-tuning on the sharded path ({@link ShardedSync}). It reads only the
 * base model's config: the weights, gradients and AdamW moments live on the executors, a shard each,
 * and checkpoints and the final model are written there, in parallel, as Hugging Face shards. The
 * loop is the unsharded trainer's (schedule, clipping, skipping, evaluation, early stopping,
 * checkpoint cadence, metrics), and its results equal it within float rounding.
 *
 * <p>A lost executor loses its shards: the round fails, every shard is rebuilt from the latest
 * checkpoint (or the base model before the first), and training replays from there. Every step is a
 * pure function of the checkpoint and the data, so the run ends exactly as an uninterrupted one.
 */
final class ShardedTrainer {
  private final JavaSparkContext sc;
  private final TrainConfig cfg;
  private final RowSource train;
  private final RowSource validation;
  private final String datasetHash;
  private final PrintStream log;

  private final Lineage.Dataset dataset;
  private Lineage lineage;
  /** The adapter (method = lora / qlora): the driver writes its PEFT files; null for full fine-tuning. */
  private io.laketune.peft.LoraModel lora;

  ShardedTrainer(JavaSparkContext sc, TrainConfig cfg, RowSource train, RowSource validation, Lineage.Dataset dataset,
      PrintStream log) {
    this.sc = sc;
    this.cfg = cfg;
    this.train = train;
    this.validation = validation;
    this.datasetHash = dataset.manifestSha256();
    this.dataset = dataset;
    this.log = log;
  }

  /** Whether a run goes the sharded way: full fine-tuning whose vector meets sync.sharded / shard_threshold. */
  static boolean applies(TrainConfig cfg, org.apache.hadoop.conf.Configuration conf) throws IOException {
    TrainConfig.Sharding sh = cfg.sharding();
    if (sh.mode() == TrainConfig.Sharded.FALSE) return false;
    if (cfg.method() != TrainConfig.Method.FULL) {
      // an adapter is sized from the base config alone: lora_A, lora_B (DoRA magnitudes), trained
      // biases and modules_to_save copies (a 128k-vocabulary head is most of such a vector)
      return sh.applies(TrainableLayout.of(io.laketune.peft.LoraModel.plan(baseConfig(cfg, conf), cfg.lora()).trainableShapes()).total());
    }
    return sh.applies(TrainableLayout.full(baseConfig(cfg, conf)).total());
  }

  /** The base model's config.json, read where it lies: the driver never copies the weights. */
  private static ModelConfig baseConfig(TrainConfig cfg, org.apache.hadoop.conf.Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(cfg.model(), "config.json");
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(p)) throw new IllegalArgumentException(TrainConfig.ROOT + ".model: " + p + " does not exist; give a Hugging Face model directory");
    try (java.io.InputStream in = fs.open(p)) {
      return ModelConfig.parse(CheckpointStore.JSON.readTree(in), p.toString());
    }
  }

  /** Where the loop stands: restored from a checkpoint, or fresh. */
  private static final class Progress {
    long step;
    long optimizerSteps;
    Double best;
    Long bestStep;
    int badEvals;
    long skipped;
    List<Map<String, Object>> history = new ArrayList<>();
  }

  Trainer.Result run() throws IOException {
    ModelSpec spec = ModelSpec.of(cfg);
    CheckpointStore store = new CheckpointStore(cfg.output(), sc.hadoopConfiguration());
    HadoopConf conf = new HadoopConf(sc.hadoopConfiguration());
    ModelConfig modelConfig = baseConfig(cfg, sc.hadoopConfiguration());
    if (cfg.method() != TrainConfig.Method.FULL) {
      // the driver builds the adapter as the unsharded path does (its seeded initialisation is the
      // start); the frozen base stays on every executor, and only the adapter vector is sharded
      lora = io.laketune.peft.LoraModel.create(LocalModelDir.of(cfg.model()), cfg.lora(),
          cfg.frozenBf16() ? org.nd4j.linalg.api.buffer.DataType.BFLOAT16 : org.nd4j.linalg.api.buffer.DataType.FLOAT,
          cfg.quantize(), cfg.seed());
      log.println("laketune train: " + lora.trainableSummary());
    }
    TrainableLayout layout = lora == null ? TrainableLayout.full(modelConfig) : TrainableLayout.of(lora.model().params());
    TrainConfig.Sharding sh = cfg.sharding();
    Chunking ch = new Chunking(layout.total(), sh.chunkElements(), cfg.workers());
    boolean gradients = cfg.syncMode() == TrainConfig.SyncMode.GRADIENTS;
    ShardedSync sync = new ShardedSync(sc, ch, sh.payload(), gradients ? 1 : 3);
    log.printf("laketune train: sharded sync of %,d trainable values in %,d chunks over %d shards (%s payload)%n",
        layout.total(), ch.chunks(), ch.shards(), sh.payload().name().toLowerCase(java.util.Locale.ROOT));

    StepPlan plan = new StepPlan(train.open().shardRows(), cfg.workers(), cfg.microBatch(), cfg.accumulation(), cfg.seed());
    long total = cfg.maxSteps() > 0 ? cfg.maxSteps() : cfg.epochs() * plan.stepsPerEpoch();
    long warmup = cfg.warmupSteps() > 0 ? cfg.warmupSteps() : (long) Math.ceil(cfg.warmupRatio() * total);
    LrSchedule schedule = new LrSchedule(cfg.schedule(), cfg.optimizer().lr(), warmup, total);
    String configHash = Trainer.configHash(cfg);
    long hashStart = System.nanoTime();
    // the weights are hashed where they lie, streamed once: the driver still holds none of them
    io.laketune.checkpoint.ModelIdentity identity = Lineage.identity(cfg.model(), sc.hadoopConfiguration());
    lineage = Trainer.lineage(cfg, dataset, identity, configHash, (System.nanoTime() - hashStart) / 1e9, log);

    Progress pr = restore(store, sync, spec, layout, ch, conf, false);
    int recoveries = 0;
    long started = System.currentTimeMillis(), startStep = pr.step;
    double lastLoss = pr.history.stream().filter(e -> e.containsKey("loss"))
        .mapToDouble(e -> ((Number) e.get("loss")).doubleValue()).reduce((a, b) -> b).orElse(Double.NaN);
    boolean stop = false;
    try {
      while (pr.step < total && !stop) {
        try {
          long roundStart = System.currentTimeMillis();
          long first = pr.step;
          int k = gradients ? 1 : (int) Math.min(cfg.localSteps(), total - pr.step);
          double lr = schedule.at(pr.step);
          RoundStats stats;
          Double gradNorm = null;
          long updateMs = 0;
          if (gradients) {
            ShardedSync.Reduced red = sync.reduce(spec, train, plan, pr.step, cfg.seed());
            stats = red.stats();
            double loss = stats.lossSum() / Math.max(1, stats.tokens());
            double norm = red.norm();
            gradNorm = norm;
            if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
              sync.discard(red);
              if (cfg.stopOnNonFinite()) throw new NonFiniteException(pr.step, loss, norm);
              pr.skipped++;
              log.println("laketune train: step " + pr.step + " skipped: non-finite loss or gradient");
            } else {
              double max = cfg.optimizer().maxGradNorm();
              double coef = max > 0 ? max / (norm + 1e-6) : 1;
              long u0 = System.currentTimeMillis();
              sync.update(red, cfg, layout, lr, coef, max > 0 && coef < 1);
              updateMs = System.currentTimeMillis() - u0;
              pr.optimizerSteps++;
            }
          } else {
            stats = sync.localRound(spec, train, plan, pr.optimizerSteps, pr.step, k, cfg, schedule);
            pr.skipped += stats.skipped();
            pr.optimizerSteps += k;
          }
          double lossMean = stats.lossSum() / Math.max(1, stats.tokens());
          pr.step += k;
          lastLoss = lossMean;
          long roundMs = System.currentTimeMillis() - roundStart;
          if (pr.step % cfg.logEvery() == 0 || pr.step == total || k > 1) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("step", pr.step);
            e.put("epoch", (double) first / plan.stepsPerEpoch());
            e.put("loss", lossMean);
            e.put("lr", lr);
            if (gradNorm != null) e.put("grad_norm", gradNorm);
            e.put("tokens", stats.tokens());
            e.put("tokens_per_s", stats.tokens() * 1000.0 / Math.max(1, roundMs));
            e.put("round_ms", roundMs);
            e.put("sync_ms", Math.max(0, roundMs - stats.computeMillis()));
            // every worker pulls the whole vector and pushes one of the same size
            e.put("sync_bytes", 2L * cfg.workers() * sync.vectorBytes());
            // the parts of sync_ms: the slowest worker's wait for the parameters, and (gradients mode)
            // the second job, in which the shards apply AdamW; the rest is the reduce-scatter and scheduling
            e.put("gather_ms", stats.gatherMillis());
            if (gradients) e.put("update_ms", updateMs);
            pr.history.add(e);
            Trainer.progress(log, pr.step, total, lossMean, lr, stats.tokens() * 1000.0 / Math.max(1, roundMs),
                roundMs - stats.computeMillis(), started, startStep);
          }
          boolean evalNow = validation != null && (cfg.evalEvery() > 0 && pr.step % cfg.evalEvery() == 0 || pr.step >= total);
          boolean improved = false;
          if (evalNow) {
            Loss ev = sync.evaluate(spec, validation, cfg.microBatch());
            double evalLoss = ev.mean();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("step", pr.step);
            e.put("eval_loss", evalLoss);
            e.put("eval_perplexity", Math.exp(evalLoss));
            e.put("eval_tokens", ev.count());
            pr.history.add(e);
            log.printf("%nlaketune train: step %d validation loss %.4f (perplexity %.2f)%n", pr.step, evalLoss, Math.exp(evalLoss));
            if (pr.best == null || evalLoss < pr.best) {
              pr.best = evalLoss;
              pr.bestStep = pr.step;
              pr.badEvals = 0;
              improved = true;
            } else if (cfg.earlyStoppingPatience() > 0 && ++pr.badEvals >= cfg.earlyStoppingPatience()) {
              log.println("laketune train: early stopping at step " + pr.step + " after " + pr.badEvals + " evaluations without improvement");
              stop = true;
            }
          }
          boolean ckptNow = cfg.checkpointEvery() > 0 && pr.step % cfg.checkpointEvery() == 0 || pr.step >= total || stop
              || improved && cfg.loadBestAtEnd();
          if (ckptNow) {
            TrainerState st = Trainer.trainerState(cfg, plan, schedule, pr.step, warmup, total, pr.optimizerSteps, pr.best,
                pr.bestStep, pr.badEvals, pr.skipped, configHash, datasetHash, pr.history);
            saveCheckpoint(store, sync, layout, modelConfig, conf, st);
            store.prune(cfg.keepLast(), pr.bestStep);
          }
          Trainer.writeMetrics(store, pr.history);
        } catch (Exception e) {
          if (!ShardedSync.shardLost(e) || recoveries >= cfg.sharding().maxRecoveries()) throw e;
          recoveries++;
          stop = false;
          log.printf("%nlaketune train: an executor was lost with its shards (%s); rebuilding them from the last checkpoint (recovery %d of at most %d)%n",
              firstLine(e), recoveries, cfg.sharding().maxRecoveries());
          pr = restore(store, sync, spec, layout, ch, conf, true);
          lastLoss = pr.history.stream().filter(x -> x.containsKey("loss"))
              .mapToDouble(x -> ((Number) x.get("loss")).doubleValue()).reduce((a, b) -> b).orElse(Double.NaN);
        }
      }
      log.println();
      if (cfg.loadBestAtEnd() && pr.bestStep != null && pr.bestStep != pr.step) {
        final String best = store.stepDir(pr.bestStep).toString();
        if (lora != null) initAdapter(store, sync, layout, ch, conf, pr.bestStep);
        else sync.init(s -> ShardTasks.initFromCheckpoint(best, layout, ch, s, conf.get()));
        log.println("laketune train: loaded the best checkpoint, step-" + pr.bestStep + " (validation loss " + pr.best + ")");
      }
      if (lora != null) {
        publishAdapter(store, sync, pr.step);
      } else {
        org.apache.hadoop.fs.Path fin = store.beginPublish("final/model");
        writeModel(store, sync, layout, modelConfig, conf, fin);
        lineage.of("model", pr.step).write(store.fs(), fin);
        store.commitPublished("final/model");
      }
    } finally {
      sync.close();
    }
    store.writeFile("loss.png", LossChart.png(pr.history, "laketune " + cfg.method().name().toLowerCase(java.util.Locale.ROOT) + " (sharded) — " + cfg.output()));
    return new Trainer.Result(pr.step, lastLoss, pr.best, pr.skipped, pr.history);
  }

  private static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  /** Restores the loop and every shard from the latest checkpoint, or starts from the base model. */
  private Progress restore(CheckpointStore store, ShardedSync sync, ModelSpec spec, TrainableLayout layout, Chunking ch,
      HadoopConf conf, boolean recovering) throws IOException {
    Progress pr = new Progress();
    Optional<Long> latest = store.latest();
    if (latest.isPresent()) {
      TrainerState st = store.state(latest.get());
      if (!Trainer.configMatches(st, cfg)) {
        throw new IllegalArgumentException(cfg.output() + " holds checkpoints of a run with a different config;"
            + " choose a new output directory to start afresh");
      }
      if (!st.datasetHash().equals(datasetHash)) {
        throw new IllegalArgumentException(Trainer.differentDataset(cfg, dataset, store.lineage(latest.get()), latest.get()));
      }
      final String dir = store.stepDir(latest.get()).toString();
      if (lora != null) initAdapter(store, sync, layout, ch, conf, latest.get());
      else sync.init(s -> ShardTasks.initFromCheckpoint(dir, layout, ch, s, conf.get()));
      pr.step = st.globalStep();
      pr.optimizerSteps = st.optimizerSteps();
      pr.best = st.bestMetric();
      pr.bestStep = st.bestStep();
      pr.badEvals = st.evalsWithoutImprovement();
      pr.skipped = st.skippedSteps();
      pr.history.addAll(st.logHistory());
      log.println("laketune train: " + (recovering ? "restarting" : "resuming") + " " + cfg.output() + " from checkpoint step-" + pr.step);
    } else if (lora != null) {
      final org.apache.spark.broadcast.Broadcast<float[]> init = sc.broadcast(lora.model().params().flatValues().toFloatVector());
      sync.init(s -> ShardTasks.initFromValues(init.value(), null, layout, ch, s, conf.get()));
      init.destroy();
    } else {
      sync.init(s -> ShardTasks.initFromBase(spec, ch, s));
    }
    return pr;
  }

  /**
   * Every shard of the adapter from checkpoint {@code step}: the driver reads the PEFT weights (the
   * file the unsharded path writes too) and broadcasts them; each shard reads its moments by range
   * from the optimizer files, sharded by any worker count or the unsharded path's single file.
   */
  private void initAdapter(CheckpointStore store, ShardedSync sync, TrainableLayout layout, Chunking ch, HadoopConf conf,
      long step) throws IOException {
    java.nio.file.Path local = store.localCopy(step);
    io.laketune.peft.PeftAdapterFiles.readWeights(local, lora);
    final org.apache.spark.broadcast.Broadcast<float[]> values = sc.broadcast(lora.model().params().flatValues().toFloatVector());
    final String dir = store.stepDir(step).toString();
    sync.init(s -> ShardTasks.initFromValues(values.value(), dir, layout, ch, s, conf.get()));
    values.destroy();
  }

  /** The adapter's PEFT files (adapter_model.safetensors, adapter_config.json, lineage) in a fresh local directory. */
  private java.nio.file.Path writeAdapter(ShardedSync sync, String name, Lineage lin) throws IOException {
    lora.model().params().flatValues().assign(org.nd4j.linalg.factory.Nd4j.createFromArray(sync.collectValues()));
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("laketune-save-").resolve(name);
    io.laketune.peft.PeftAdapterFiles.write(lora, dir, io.laketune.io.DType.F32, lin.metadata());
    lin.write(dir);
    return dir;
  }

  private void publishAdapter(CheckpointStore store, ShardedSync sync, long step) throws IOException {
    java.nio.file.Path dir = writeAdapter(sync, "adapter", lineage.of("adapter", step));
    store.publish(dir, "final/adapter");
    if (cfg.exportMerged()) {
      java.nio.file.Path merged = dir.resolveSibling("merged");
      Lineage ml = lineage.of("merged", step);
      io.laketune.model.HfModels.save(lora.mergedModel(), merged, io.laketune.io.DType.F32, 5_000_000_000L,
          Trainer.sideFiles(cfg), ml.metadata());
      ml.write(merged);
      store.publish(merged, "final/merged");
    }
  }

  private void saveCheckpoint(CheckpointStore store, ShardedSync sync, TrainableLayout layout, ModelConfig modelConfig,
      HadoopConf conf, TrainerState st) throws IOException {
    org.apache.hadoop.fs.Path dir = store.beginStep(st.globalStep());
    if (lora != null) {
      // the PEFT adapter the unsharded path writes, beside the executors' optimizer shards
      java.nio.file.Path local = writeAdapter(sync, "step", lineage.of("checkpoint", st.globalStep()));
      try (var files = java.nio.file.Files.list(local)) {
        for (java.nio.file.Path f : files.toList()) {
          store.fs().copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(f.toUri()), new org.apache.hadoop.fs.Path(dir, f.getFileName().toString()));
        }
      }
      sync.writeOptimizerShards(dir.toString(), conf);
    } else {
      writeModel(store, sync, layout, modelConfig, conf, dir);
      lineage.of("checkpoint", st.globalStep()).write(store.fs(), dir);
    }
    ShardFiles.writeOptimizerIndex(store.fs(), dir, sync.ch, st.optimizerSteps());
    store.writeState(dir, st);
    store.commitStep(st.globalStep());
  }

  /** config.json, the tokenizer files and the model shards (with their index) into {@code dir}. */
  private void writeModel(CheckpointStore store, ShardedSync sync, TrainableLayout layout, ModelConfig modelConfig,
      HadoopConf conf, org.apache.hadoop.fs.Path dir) throws IOException {
    List<ShardFiles.FileSpec> plan = sync.writeFiles(dir.toString(), layout, cfg.sharding().maxFileBytes(), conf);
    FileSystem fs = store.fs();
    ShardFiles.writeModelIndex(fs, dir, plan, layout);
    ObjectNode config = modelConfig.json().deepCopy();
    config.put("torch_dtype", "float32");
    // a 4-bit base trains dequantised: what is saved is plain fp32
    config.remove(BnbConfig.KEY);
    try (java.io.OutputStream out = fs.create(new org.apache.hadoop.fs.Path(dir, "config.json"), true)) {
      out.write((CheckpointStore.JSON.writeValueAsString(config) + "\n").getBytes(StandardCharsets.UTF_8));
    }
    org.apache.hadoop.fs.Path base = new org.apache.hadoop.fs.Path(cfg.model());
    FileSystem baseFs = base.getFileSystem(sc.hadoopConfiguration());
    for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")) {
      org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(base, f);
      if (baseFs.isFile(src)) org.apache.hadoop.fs.FileUtil.copy(baseFs, src, fs, new org.apache.hadoop.fs.Path(dir, f), false, sc.hadoopConfiguration());
    }
  }
}
