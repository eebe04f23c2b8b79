package io.laketune.train;

import io.laketune.checkpoint.ModelIdentity;
import io.laketune.io.DType;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.Loss;
import io.laketune.nn.ParamStore;
import io.laketune.optim.AdamW;
import io.laketune.optim.LrSchedule;
import io.laketune.optim.ParamGroups;
import io.laketune.peft.LoraModel;
import io.laketune.peft.PeftAdapterFiles;
import io.laketune.train.data.RowSource;
import io.laketune.train.data.StepPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The training job's driver loop. Each round is one Spark job over {@code workers} partitions:
 * the trainable parameters are broadcast, every task trains its slice of the step's global batch on
 * its executor's cached model, and the results are tree-aggregated back. In {@code gradients} mode
 * the driver then applies one AdamW step to the token-weighted mean gradient (so N workers equal
 * one process with the same global batch); in {@code parameters} mode workers run local steps and
 * the driver averages their parameters and moments.
 */
public final class Trainer {
  private final JavaSparkContext sc;
  private final TrainConfig cfg;
  private final RowSource train;
  private final RowSource validation;
  private final String datasetHash;
  private final Lineage.Dataset dataset;
  private final PrintStream log;

  /** @param datasetHash what identifies the data (a prepared dataset's manifest SHA-256) */
  public Trainer(JavaSparkContext sc, TrainConfig cfg, RowSource train, RowSource validation, String datasetHash,
      PrintStream log) {
    this(sc, cfg, train, validation, new Lineage.Dataset(cfg.data(), datasetHash, null, null), log);
  }

  /** @param dataset the prepared dataset's lineage ({@link Lineage#dataset}): its hash and source */
  public Trainer(JavaSparkContext sc, TrainConfig cfg, RowSource train, RowSource validation, Lineage.Dataset dataset,
      PrintStream log) {
    this.sc = sc;
    this.cfg = cfg;
    this.train = train;
    this.validation = validation;
    this.datasetHash = dataset.manifestSha256();
    this.dataset = dataset;
    this.log = log;
  }

  /** What a run ended with. */
  public record Result(long steps, double lastLoss, Double bestEvalLoss, long skippedSteps, List<Map<String, Object>> history) {}

  static AdamW optimizer(TrainConfig cfg, ParamStore ps) {
    TrainConfig.Optimizer o = cfg.optimizer();
    return new AdamW(ps.flatValues(), new AdamW.Hyper(o.beta1(), o.beta2(), o.eps(), o.weightDecay()),
        ParamGroups.of(ps, o.loraPlusRatio()));
  }

  public Result run() throws IOException {
    if (ShardedTrainer.applies(cfg, sc.hadoopConfiguration())) return new ShardedTrainer(sc, cfg, train, validation, dataset, log).run();
    if (cfg.sharding().payload() != TrainConfig.Payload.FP32) {
      throw new IllegalArgumentException(TrainConfig.ROOT + ".sync.payload = bf16 needs the sharded path: set sync.sharded = true"
          + " or train a vector of at least sync.shard_threshold elements");
    }
    ModelSpec spec = ModelSpec.of(cfg);
    CheckpointStore store = new CheckpointStore(cfg.output(), sc.hadoopConfiguration());
    Path baseDir = LocalModelDir.of(cfg.model());
    LoraModel lora = null;
    CausalLm master;
    if (cfg.tenants().any()) {
      throw new IllegalArgumentException(TrainConfig.ROOT + ".tenants is set: train them with TenantTrainer (laketune"
          + " train does), which trains one adapter per tenant");
    }
    Replicas.countLoad();
    if (cfg.method() == TrainConfig.Method.FULL) {
      master = HfModels.load(baseDir, HfModels.Options.fullTraining());
    } else {
      lora = LoraModel.create(baseDir, cfg.lora(), cfg.frozenBf16() ? DataType.BFLOAT16 : DataType.FLOAT,
          cfg.quantize(), cfg.seed());
      master = lora.model();
      log.println("laketune train: " + lora.trainableSummary());
    }
    INDArray values = master.params().flatValues();
    AdamW opt = optimizer(cfg, master.params());

    StepPlan plan = new StepPlan(train.open().shardRows(), cfg.workers(), cfg.microBatch(), cfg.accumulation(), cfg.seed());
    long total = cfg.maxSteps() > 0 ? cfg.maxSteps() : cfg.epochs() * plan.stepsPerEpoch();
    long warmup = cfg.warmupSteps() > 0 ? cfg.warmupSteps() : (long) Math.ceil(cfg.warmupRatio() * total);
    LrSchedule schedule = new LrSchedule(cfg.schedule(), cfg.optimizer().lr(), warmup, total);
    String configHash = configHash(cfg);
    Lineage lineage = lineage(baseDir, configHash);

    long step = 0;
    Double best = null;
    Long bestStep = null;
    int badEvals = 0;
    long skipped = 0;
    List<Map<String, Object>> history = new ArrayList<>();
    var latest = store.latest();
    if (latest.isPresent()) {
      TrainerState st = store.state(latest.get());
      if (!configMatches(st, cfg)) {
        throw new IllegalArgumentException(cfg.output() + " holds checkpoints of a run with a different config;"
            + " choose a new output directory to start afresh");
      }
      if (!st.datasetHash().equals(datasetHash)) {
        throw new IllegalArgumentException(differentDataset(store.lineage(latest.get()), latest.get()));
      }
      Path local = store.localCopy(latest.get());
      loadTrainable(master, lora, local);
      float[][] mv = moments(local, master);
      opt.restore(st.optimizerSteps(), Nd4j.createFromArray(mv[0]), Nd4j.createFromArray(mv[1]));
      step = st.globalStep();
      best = st.bestMetric();
      bestStep = st.bestStep();
      badEvals = st.evalsWithoutImprovement();
      skipped = st.skippedSteps();
      history.addAll(st.logHistory());
      log.println("laketune train: resuming " + cfg.output() + " from checkpoint step-" + step);
    }

    int n = cfg.workers();
    List<Integer> workerIds = IntStream.range(0, n).boxed().toList();
    long trainableBytes = 4L * values.length();
    long started = System.currentTimeMillis(), startStep = step;
    // a resumed run that has no steps left reports the last loss it logged
    double lastLoss = history.stream().filter(e -> e.containsKey("loss"))
        .mapToDouble(e -> ((Number) e.get("loss")).doubleValue()).reduce((a, b) -> b).orElse(Double.NaN);
    boolean stop = false;
    while (step < total && !stop) {
      long roundStart = System.currentTimeMillis();
      long first = step;
      int k = cfg.syncMode() == TrainConfig.SyncMode.GRADIENTS ? 1 : (int) Math.min(cfg.localSteps(), total - step);
      double lossMean;
      long tokens;
      long computeMs;
      long syncBytes;
      Double gradNorm = null;
      double lr = schedule.at(step);
      final long s = step;
      JavaRDD<Integer> rdd = sc.parallelize(workerIds, n);
      Map<String, Object> parts = new LinkedHashMap<>();
      if (k == 1 && cfg.syncMode() == TrainConfig.SyncMode.GRADIENTS) {
        Broadcast<float[]> bv = sc.broadcast(values.toFloatVector());
        long submitted = System.currentTimeMillis();
        final RowSource src = train;
        final long seed = cfg.seed();
        GradientSum sum = rdd.treeAggregate(new GradientSum(),
            (acc, w) -> acc.merge(Worker.gradients(spec, src, plan, bv.value(), s, w, seed)),
            GradientSum::merge, cfg.aggregationDepth());
        long aggregated = System.currentTimeMillis();
        bv.destroy();
        // the parts of sync_ms: writing the broadcast, until the last worker started (scheduling, the
        // task and its broadcast read), after the last one ended (its result's trip and the merge), and
        // the driver's clipping and AdamW step
        parts.put("broadcast_ms", submitted - roundStart);
        parts.put("launch_ms", Math.max(0, sum.lastStart - submitted));
        parts.put("collect_ms", Math.max(0, aggregated - sum.lastEnd));
        syncBytes = trainableBytes * (1 + n);
        tokens = sum.tokens;
        computeMs = sum.computeMillis;
        lossMean = sum.lossSum / Math.max(1, sum.tokens);
        INDArray g = Nd4j.createFromArray(sum.grad);
        if (sum.tokens > 0) g.divi(sum.tokens);
        double norm = AdamW.clipGradNorm(g, cfg.optimizer().maxGradNorm());
        gradNorm = norm;
        if (!Double.isFinite(lossMean) || !Double.isFinite(norm)) {
          if (cfg.stopOnNonFinite()) throw new NonFiniteException(step, lossMean, norm);
          skipped++;
          log.println("laketune train: step " + step + " skipped: non-finite loss or gradient");
        } else {
          opt.step(values, g, lr);
        }
        parts.put("update_ms", System.currentTimeMillis() - aggregated);
      } else {
        Broadcast<float[]> bv = sc.broadcast(values.toFloatVector());
        Broadcast<float[]> bm = sc.broadcast(opt.expAvg().toFloatVector());
        Broadcast<float[]> bs = sc.broadcast(opt.expAvgSq().toFloatVector());
        final RowSource src = train;
        final long optSteps = opt.stepCount();
        final int kk = k;
        final TrainConfig c = cfg;
        LocalSum sum = rdd.treeAggregate(new LocalSum(),
            (acc, w) -> acc.merge(Worker.localSteps(spec, src, plan, bv.value(), bm.value(), bs.value(), optSteps, s, kk, w, c, schedule)),
            LocalSum::merge, cfg.aggregationDepth());
        bv.destroy();
        bm.destroy();
        bs.destroy();
        syncBytes = 3 * trainableBytes * (1 + n);
        tokens = sum.tokens;
        computeMs = sum.computeMillis;
        skipped += sum.skipped;
        lossMean = sum.lossSum / Math.max(1, sum.tokens);
        float inv = 1.0f / sum.workers;
        values.assign(Nd4j.createFromArray(sum.values).muli(inv));
        opt.restore(opt.stepCount() + k, Nd4j.createFromArray(sum.m).muli(inv), Nd4j.createFromArray(sum.v).muli(inv));
      }
      step += k;
      lastLoss = lossMean;
      long roundMs = System.currentTimeMillis() - roundStart;
      if (step % cfg.logEvery() == 0 || step == total || k > 1) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("step", step);
        e.put("epoch", (double) first / plan.stepsPerEpoch());
        e.put("loss", lossMean);
        e.put("lr", lr);
        if (gradNorm != null) e.put("grad_norm", gradNorm);
        e.put("tokens", tokens);
        e.put("tokens_per_s", tokens * 1000.0 / Math.max(1, roundMs));
        e.put("round_ms", roundMs);
        e.put("sync_ms", Math.max(0, roundMs - computeMs));
        e.put("sync_bytes", syncBytes);
        e.putAll(parts);
        history.add(e);
        progress(step, total, lossMean, lr, tokens * 1000.0 / Math.max(1, roundMs), roundMs - computeMs, started, startStep);
      }
      boolean evalNow = validation != null && (cfg.evalEvery() > 0 && step % cfg.evalEvery() == 0 || step >= total);
      boolean improved = false;
      if (evalNow) {
        Loss ev = evaluate(spec, values.toFloatVector());
        double evalLoss = ev.mean();
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("step", step);
        e.put("eval_loss", evalLoss);
        e.put("eval_perplexity", Math.exp(evalLoss));
        e.put("eval_tokens", ev.count());
        history.add(e);
        log.printf("%nlaketune train: step %d validation loss %.4f (perplexity %.2f)%n", step, evalLoss, Math.exp(evalLoss));
        if (best == null || evalLoss < best) {
          best = evalLoss;
          bestStep = step;
          badEvals = 0;
          improved = true;
        } else if (cfg.earlyStoppingPatience() > 0 && ++badEvals >= cfg.earlyStoppingPatience()) {
          log.println("laketune train: early stopping at step " + step + " after " + badEvals + " evaluations without improvement");
          stop = true;
        }
      }
      boolean ckptNow = cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0 || step >= total || stop
          || improved && cfg.loadBestAtEnd();
      if (ckptNow) {
        TrainerState st = trainerState(cfg, plan, schedule, step, warmup, total, opt.stepCount(), best, bestStep, badEvals,
            skipped, configHash, datasetHash, history);
        saveCheckpoint(store, master, lora, opt, st, lineage.of("checkpoint", step));
        store.prune(cfg.keepLast(), bestStep);
      }
      writeMetrics(store, history);
    }
    log.println();
    if (cfg.loadBestAtEnd() && bestStep != null && bestStep != step) {
      loadTrainable(master, lora, store.localCopy(bestStep));
      log.println("laketune train: loaded the best checkpoint, step-" + bestStep + " (validation loss " + best + ")");
    }
    publishFinal(store, master, lora, lineage, step);
    store.writeFile("loss.png", LossChart.png(history, "laketune " + cfg.method().name().toLowerCase() + " — " + cfg.output()));
    return new Result(step, lastLoss, best, skipped, history);
  }

  /**
   * The config hash a checkpoint records: of the whole resolved config, except, in gradients mode, how
   * the global batch is split across workers (workers, micro_batch_size, gradient_accumulation with the
   * same product) and how the sync moves data; those leave the arithmetic unchanged, so a checkpoint
   * written with 4 workers resumes on 2.
   */
  static String configHash(TrainConfig cfg) {
    if (cfg.syncMode() != TrainConfig.SyncMode.GRADIENTS) return sha256(cfg.rendered());
    try {
      // rendered() is the laketune.train section itself
      com.fasterxml.jackson.databind.JsonNode root = CheckpointStore.JSON.readTree(cfg.rendered());
      if (root instanceof com.fasterxml.jackson.databind.node.ObjectNode train) {
        train.remove("workers");
        for (String k : List.of("micro_batch_size", "gradient_accumulation")) {
          if (train.get("batch") instanceof com.fasterxml.jackson.databind.node.ObjectNode b) b.remove(k);
        }
        for (String k : List.of("aggregation_depth", "sharded", "shard_threshold", "chunk_elements", "max_recoveries")) {
          if (train.get("sync") instanceof com.fasterxml.jackson.databind.node.ObjectNode y) y.remove(k);
        }
        if (train.get("checkpoint") instanceof com.fasterxml.jackson.databind.node.ObjectNode k) k.remove("max_file_bytes");
        train.put("global_batch_rows", cfg.globalBatchRows());
      }
      return sha256(CheckpointStore.JSON.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(root));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The checkpoint's config hash is this config's (or, for checkpoints of older runs, its full rendering's). */
  static boolean configMatches(TrainerState st, TrainConfig cfg) {
    return st.configHash().equals(configHash(cfg)) || st.configHash().equals(sha256(cfg.rendered()));
  }

  /** trainer_state.json of a checkpoint taken after {@code step} steps. */
  static TrainerState trainerState(TrainConfig cfg, StepPlan plan, LrSchedule schedule, long step, long warmup, long total,
      long optimizerSteps, Double best, Long bestStep, int badEvals, long skipped, String configHash, String datasetHash,
      List<Map<String, Object>> history) {
    Map<String, Object> cursor = new LinkedHashMap<>();
    cursor.put("epoch", step / plan.stepsPerEpoch());
    cursor.put("step_in_epoch", step % plan.stepsPerEpoch());
    cursor.put("rows_per_step", plan.globalRows());
    Map<String, Object> rng = new LinkedHashMap<>();
    rng.put("seed", cfg.seed());
    rng.put("dropout", "masks drawn from (seed, step, global micro-batch, layer)");
    Map<String, Object> sched = new LinkedHashMap<>();
    sched.put("type", cfg.schedule().name().toLowerCase(java.util.Locale.ROOT));
    sched.put("peak_lr", cfg.optimizer().lr());
    sched.put("warmup_steps", warmup);
    sched.put("total_steps", total);
    sched.put("next_lr", schedule.at(step));
    return new TrainerState(TrainerState.FORMAT_VERSION, step, plan.epochOf(Math.max(0, step - 1)),
        plan.stepsPerEpoch(), total, cfg.seed(), cursor, rng, sched, optimizerSteps, best, bestStep, badEvals,
        skipped, configHash, datasetHash, history);
  }

  private Loss evaluate(ModelSpec spec, float[] vals) {
    Broadcast<float[]> bv = sc.broadcast(vals);
    final RowSource src = validation;
    final int n = cfg.workers(), micro = cfg.microBatch();
    Loss l = sc.parallelize(IntStream.range(0, n).boxed().toList(), n)
        .map(w -> Worker.evaluate(spec, src, bv.value(), w, n, micro))
        .reduce(Loss::plus);
    bv.destroy();
    return l;
  }

  /** What every checkpoint and final output of this run records of its origin. */
  private Lineage lineage(Path baseDir, String configHash) throws IOException {
    long start = System.nanoTime();
    ModelIdentity model = ModelIdentity.of(baseDir);
    return lineage(cfg, dataset, model, configHash, (System.nanoTime() - start) / 1e9, log);
  }

  /** The run's lineage for its checkpoints and outputs, with a line saying what was hashed. */
  static Lineage lineage(TrainConfig cfg, Lineage.Dataset dataset, ModelIdentity model, String configHash, double seconds,
      PrintStream log) {
    log.printf(java.util.Locale.ROOT, "laketune train: base model %s: %d weights files, %.1f MB hashed in %.2f s;"
        + " dataset %s%n", cfg.model(), model.weights().size(), model.weightBytes() / 1e6, seconds, dataset.describe());
    return new Lineage(Lineage.FORMAT, Lineage.FORMAT_VERSION, "laketune spark-trainer", "checkpoint", 0,
        cfg.output(), cfg.method().name().toLowerCase(java.util.Locale.ROOT), configHash, dataset,
        Lineage.BaseModel.of(cfg.model(), model));
  }

  private String differentDataset(Lineage before, long step) {
    return differentDataset(cfg, dataset, before, step);
  }

  /** Why a resumed run refuses this dataset: what the checkpoint was trained on, and what the dataset is now. */
  static String differentDataset(TrainConfig cfg, Lineage.Dataset dataset, Lineage before, long step) {
    String then = before == null ? "another dataset" : before.dataset().describe();
    return cfg.output() + " holds checkpoints of a run on a different dataset: step-" + step + " was trained on "
        + then + ", but " + cfg.data() + " is " + dataset.describe() + "; choose a new output directory to start"
        + " afresh" + (before != null && before.dataset().source() != null
        ? ", or prepare the dataset again from the configuration in its manifest (it pins the version read)" : "")
        + ".";
  }

  private void saveCheckpoint(CheckpointStore store, CausalLm master, LoraModel lora, AdamW opt, TrainerState st,
      Lineage lineage) throws IOException {
    saveCheckpoint(cfg, store, master, lora, opt, st, lineage);
  }

  /** Writes checkpoint step-N: the adapter or model, the optimizer moments, trainer_state.json and the lineage. */
  static void saveCheckpoint(TrainConfig cfg, CheckpointStore store, CausalLm master, LoraModel lora, AdamW opt,
      TrainerState st, Lineage lineage) throws IOException {
    if (!Double.isFinite(master.params().flatValues().sumNumber().doubleValue())) {
      throw new IllegalStateException("the parameters are not finite at step " + st.globalStep() + "; not writing a checkpoint");
    }
    Path tmp = Files.createTempDirectory("laketune-save-");
    Path dir = tmp.resolve("step");
    writeModel(cfg, master, lora, dir, lineage);
    store.save(st.globalStep(), dir, opt.expAvg().toFloatVector(), opt.expAvgSq().toFloatVector(), st);
  }

  /** The adapter or model, with the lineage in its safetensors metadata and as laketune_lineage.json. */
  private static void writeModel(TrainConfig cfg, CausalLm master, LoraModel lora, Path dir, Lineage lineage)
      throws IOException {
    if (lora != null) PeftAdapterFiles.write(lora, dir, DType.F32, lineage.metadata());
    else HfModels.save(master, dir, DType.F32, 5_000_000_000L, sideFiles(cfg), lineage.metadata());
    lineage.write(dir);
  }

  private List<Path> sideFiles() {
    return sideFiles(cfg);
  }

  /** The base model's tokenizer and generation files, copied beside every saved model. */
  static List<Path> sideFiles(TrainConfig cfg) {
    Path base = LocalModelDir.of(cfg.model());
    List<Path> out = new ArrayList<>();
    for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")) {
      if (Files.isRegularFile(base.resolve(f))) out.add(base.resolve(f));
    }
    return out;
  }

  /**
   * {exp_avg, exp_avg_sq} of a checkpoint: the single optimizer.safetensors of this path, or the
   * optimizer shards of the sharded path (any worker count), read into one vector.
   */
  private static float[][] moments(Path local, CausalLm master) throws IOException {
    if (Files.isRegularFile(local.resolve(CheckpointStore.OPTIMIZER))) return CheckpointStore.optimizer(local);
    TrainableLayout layout = TrainableLayout.of(master.params());
    int n = Math.toIntExact(layout.total());
    float[][] mv = {new float[n], new float[n]};
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(local.toUri());
    try (ShardFiles.Reader in = new ShardFiles.Reader(org.apache.hadoop.fs.FileSystem.getLocal(new org.apache.hadoop.conf.Configuration()), dir, layout)) {
      float[] buf = new float[Math.min(n, 1 << 22)];
      for (int at = 0; at < n; at += buf.length) {
        int len = Math.min(buf.length, n - at);
        in.readMoment("exp_avg", at, buf, len);
        System.arraycopy(buf, 0, mv[0], at, len);
        in.readMoment("exp_avg_sq", at, buf, len);
        System.arraycopy(buf, 0, mv[1], at, len);
      }
    }
    return mv;
  }

  static void loadTrainable(CausalLm master, LoraModel lora, Path local) throws IOException {
    if (lora != null) {
      PeftAdapterFiles.readWeights(local, lora);
    } else {
      CausalLm saved = HfModels.load(local, HfModels.Options.fullTraining());
      master.params().flatValues().assign(saved.params().flatValues());
    }
  }

  private void publishFinal(CheckpointStore store, CausalLm master, LoraModel lora, Lineage lineage, long step)
      throws IOException {
    publishFinal(cfg, store, master, lora, lineage, step);
  }

  /** Writes final/adapter (or final/model) and, with export_merged, final/merged. */
  static void publishFinal(TrainConfig cfg, CheckpointStore store, CausalLm master, LoraModel lora, Lineage lineage,
      long step) throws IOException {
    Path tmp = Files.createTempDirectory("laketune-final-");
    Path dir = tmp.resolve(lora != null ? "adapter" : "model");
    writeModel(cfg, master, lora, dir, lineage.of(dir.getFileName().toString(), step));
    store.publish(dir, "final/" + dir.getFileName());
    if (lora != null && cfg.exportMerged()) {
      Path merged = tmp.resolve("merged");
      Lineage mergedLineage = lineage.of("merged", step);
      HfModels.save(lora.mergedModel(), merged, DType.F32, 5_000_000_000L, sideFiles(cfg), mergedLineage.metadata());
      mergedLineage.write(merged);
      store.publish(merged, "final/merged");
    }
  }

  static void writeMetrics(CheckpointStore store, List<Map<String, Object>> history) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (Map<String, Object> e : history) sb.append(CheckpointStore.JSON.writer().without(
        com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsString(e)).append('\n');
    store.writeFile("metrics.jsonl", sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  private void progress(long step, long total, double loss, double lr, double tps, long syncMs, long started, long startStep) {
    progress(log, step, total, loss, lr, tps, syncMs, started, startStep);
  }

  static void progress(PrintStream log, long step, long total, double loss, double lr, double tps, long syncMs, long started,
      long startStep) {
    long elapsed = System.currentTimeMillis() - started;
    long done = step - startStep;
    long eta = done == 0 ? 0 : elapsed * (total - step) / done / 1000;
    log.printf("\rstep %d/%d | loss %.4f | lr %.2e | %.0f tok/s | sync %d ms | ETA %d:%02d:%02d   ",
        step, total, loss, lr, tps, syncMs, eta / 3600, eta / 60 % 60, eta % 60);
    log.flush();
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
