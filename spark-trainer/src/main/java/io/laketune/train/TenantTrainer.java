package io.laketune.train;

import io.laketune.checkpoint.ModelIdentity;
import io.laketune.model.Loss;
import io.laketune.optim.AdamW;
import io.laketune.optim.LrSchedule;
import io.laketune.peft.LoraModel;
import io.laketune.prep.write.Manifest;
import io.laketune.train.data.PreparedRows;
import io.laketune.train.data.RowSource;
import io.laketune.train.data.StepPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Many tenants, one job: one LoRA/QLoRA adapter per tenant of a dataset prepared with
 * tenant.column or tenant.inputs, over one frozen base, in one Spark application. The driver and every executor
 * hold the base once ({@link Replicas}) and an adapter per tenant over it. Each round is one Spark
 * job over {@code workers} partitions that runs one step of every tenant still training: each worker
 * trains its micro-batches of every such tenant (accumulation of each), so every worker has the same
 * work whatever the tenants' sizes, and a tenant that has finished drops out of the rounds. The
 * driver then applies each tenant's AdamW step to that tenant's token-weighted mean gradient.
 *
 * <p>Each tenant trains exactly as {@link Trainer} trains it alone with the configuration
 * {@link TrainConfig#forTenant} gives (the same rows at every step, the same sums in the same
 * order, the same optimizer), and keeps its own checkpoints, metrics, loss chart, lineage and final
 * adapter under {@code <output>/tenants/<tenant>/}, so it resumes on its own. A tenant that fails —
 * too few rows for one step, a non-finite loss with non_finite = stop, an error in its tasks — is
 * reported and the others go on. {@code <output>/tenants.json} sums every tenant up.
 */
public final class TenantTrainer {
  public static final String SUMMARY = "tenants.json";
  public static final String SUMMARY_FORMAT = "laketune-tenants";
  public static final int SUMMARY_VERSION = 1;

  private final JavaSparkContext sc;
  private final TrainConfig cfg;
  private final PrintStream log;

  public TenantTrainer(JavaSparkContext sc, TrainConfig cfg, PrintStream log) {
    if (!cfg.tenants().any()) {
      throw new IllegalArgumentException(TrainConfig.ROOT + ".tenants is empty: set tenants = all or list the tenants"
          + " to train, or train the dataset as one with Trainer");
    }
    this.sc = sc;
    this.cfg = cfg;
    this.log = log;
  }

  /**
   * What became of one tenant.
   *
   * @param status done, or failed (error says why)
   * @param rows packed rows of its training split
   * @param tokens labelled tokens of its training split
   * @param steps optimizer steps behind its adapter
   */
  public record TenantResult(String tenant, String status, long rows, long tokens, long steps, Double lastLoss,
      Double bestEvalLoss, long skippedSteps, String error, String output) {
    public boolean failed() {
      return status.equals("failed");
    }
  }

  public record Result(List<TenantResult> tenants) {
    public long failed() {
      return tenants.stream().filter(TenantResult::failed).count();
    }

    public TenantResult tenant(String name) {
      return tenants.stream().filter(t -> t.tenant().equals(name)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no tenant " + name));
    }
  }

  /**
   * The tenants this run trains, in the dataset's order, each with its dataset directory.
   *
   * @throws IllegalArgumentException when the dataset has no tenants or lacks a tenant named
   */
  public static Map<String, String> tenants(TrainConfig cfg, Configuration conf) throws IOException {
    Manifest m = Manifest.read(new org.apache.hadoop.fs.Path(cfg.data()), conf);
    if (!m.hasTenants()) {
      throw new IllegalArgumentException(TrainConfig.ROOT + ".tenants is set, but " + cfg.data() + " was prepared"
          + " without tenants: prepare it with laketune.prep.tenant.column naming the field that holds each record's"
          + " tenant (or tenant.inputs naming each tenant's files), or remove tenants to train it as one dataset.");
    }
    Map<String, String> out = new LinkedHashMap<>();
    List<String> names = cfg.tenants().all() ? new ArrayList<>(m.tenants().keySet()) : cfg.tenants().names();
    for (String t : names) {
      Manifest.TenantInfo info = m.tenants().get(t);
      if (info == null) {
        throw new IllegalArgumentException(TrainConfig.ROOT + ".tenants names \"" + t + "\", which " + cfg.data()
            + " does not hold; its tenants are " + String.join(", ", m.tenants().keySet()) + ".");
      }
      out.put(t, cfg.data().replaceAll("/+$", "") + "/" + info.path());
    }
    for (String t : cfg.tenants().overrides().keySet()) {
      if (!out.containsKey(t)) {
        throw new IllegalArgumentException(TrainConfig.ROOT + ".tenant_overrides." + t + " names a tenant that "
            + cfg.data() + " does not hold; its tenants are " + String.join(", ", m.tenants().keySet()) + ".");
      }
    }
    if (cfg.syncMode() != TrainConfig.SyncMode.GRADIENTS) {
      throw new IllegalArgumentException(TrainConfig.ROOT + ".sync.mode = parameters is not available with tenants:"
          + " set sync.mode = gradients.");
    }
    return out;
  }

  /** One tenant's run: its configuration, adapter, optimizer and where it stands. */
  private static final class Tenant {
    final String name;
    final TrainConfig cfg;
    String status = "training";
    String error;
    long rows;
    long tokens;
    ModelSpec spec;
    RowSource train;
    RowSource validation;
    CheckpointStore store;
    LoraModel lora;
    INDArray values;
    AdamW opt;
    StepPlan plan;
    long total;
    long warmup;
    LrSchedule schedule;
    String configHash;
    String datasetHash;
    Lineage lineage;
    long step;
    Double best;
    Long bestStep;
    int badEvals;
    long skipped;
    boolean stop;
    Double lastLoss;
    final List<Map<String, Object>> history = new ArrayList<>();

    Tenant(String name, TrainConfig cfg) {
      this.name = name;
      this.cfg = cfg;
    }

    boolean training() {
      return status.equals("training") && step < total && !stop;
    }

    void fail(String why, PrintStream log) {
      status = "failed";
      error = why;
      log.println("laketune train: tenant " + name + " failed: " + why + "; the other tenants go on");
    }
  }

  public Result run() throws IOException {
    Configuration conf = sc.hadoopConfiguration();
    Map<String, String> dirs = tenants(cfg, conf);
    String out = cfg.output().replaceAll("/+$", "");
    ModelSpec baseSpec = ModelSpec.of(cfg);
    long t0 = System.nanoTime();
    ModelIdentity identity = ModelIdentity.of(LocalModelDir.of(cfg.model()));
    double hashSeconds = (System.nanoTime() - t0) / 1e9;
    Replicas.base(baseSpec);
    log.println("laketune train: " + dirs.size() + " tenants over one base model " + cfg.model());

    List<Tenant> tenants = new ArrayList<>();
    for (Map.Entry<String, String> e : dirs.entrySet()) {
      Tenant t = new Tenant(e.getKey(), cfg.forTenant(e.getKey(), e.getValue(), out + "/tenants/" + e.getKey()));
      tenants.add(t);
      try {
        open(t, identity, hashSeconds, conf);
      } catch (IllegalArgumentException | IllegalStateException ex) {
        t.fail(ex.getMessage(), log);
      }
    }

    int n = cfg.workers();
    List<Integer> workerIds = IntStream.range(0, n).boxed().toList();
    long round = 0;
    while (tenants.stream().anyMatch(Tenant::training)) {
      long roundStart = System.currentTimeMillis();
      List<Tenant> active = tenants.stream().filter(Tenant::training).toList();
      Map<String, float[]> values = new HashMap<>();
      List<TenantGradients.TenantStep> steps = new ArrayList<>();
      for (Tenant t : active) {
        values.put(t.name, t.values.toFloatVector());
        steps.add(new TenantGradients.TenantStep(t.name, t.spec, t.train, t.plan, t.step, t.cfg.seed()));
      }
      Broadcast<Map<String, float[]>> bv = sc.broadcast(values);
      sc.setJobDescription("laketune train: round " + (round + 1) + ", " + active.size() + " tenants");
      TenantGradients sums = sc.parallelize(workerIds, n).treeAggregate(new TenantGradients(),
          (acc, w) -> acc.add(w, steps, bv.value()), TenantGradients::merge, cfg.aggregationDepth());
      bv.destroy();
      long roundMs = System.currentTimeMillis() - roundStart;
      long roundTokens = 0;
      List<Tenant> evalDue = new ArrayList<>();
      for (Tenant t : active) {
        if (sums.errors.containsKey(t.name)) {
          t.fail("step " + t.step + ": " + sums.errors.get(t.name), log);
          continue;
        }
        GradientSum sum = sums.sums.get(t.name);
        roundTokens += sum.tokens;
        try {
          step(t, sum, roundMs, n);
        } catch (NonFiniteException ex) {
          t.fail(ex.getMessage(), log);
          continue;
        }
        if (t.validation != null && (t.cfg.evalEvery() > 0 && t.step % t.cfg.evalEvery() == 0 || t.step >= t.total)) {
          evalDue.add(t);
        }
      }
      Map<String, Boolean> improved = evaluate(evalDue);
      for (Tenant t : active) {
        if (!t.status.equals("training")) continue;
        boolean ckptNow = t.cfg.checkpointEvery() > 0 && t.step % t.cfg.checkpointEvery() == 0 || t.step >= t.total
            || t.stop || improved.getOrDefault(t.name, false) && t.cfg.loadBestAtEnd();
        try {
          if (ckptNow) {
            TrainerState st = Trainer.trainerState(t.cfg, t.plan, t.schedule, t.step, t.warmup, t.total,
                t.opt.stepCount(), t.best, t.bestStep, t.badEvals, t.skipped, t.configHash, t.datasetHash, t.history);
            Trainer.saveCheckpoint(t.cfg, t.store, t.lora.model(), t.lora, t.opt, st, t.lineage.of("checkpoint", t.step));
            t.store.prune(t.cfg.keepLast(), t.bestStep);
          }
          Trainer.writeMetrics(t.store, t.history);
          if (!t.training()) finish(t);
        } catch (IllegalStateException ex) {
          t.fail(ex.getMessage(), log);
        }
      }
      round++;
      long done = tenants.stream().filter(t -> t.status.equals("done")).count();
      long failed = tenants.stream().filter(t -> t.status.equals("failed")).count();
      log.printf(Locale.ROOT, "laketune train: round %d | %d tenants stepped, %d done, %d failed | %.0f tok/s | %d ms%n",
          round, active.size(), done, failed, roundTokens * 1000.0 / Math.max(1, roundMs), roundMs);
    }
    // tenants that had no step left when the run (re)started
    for (Tenant t : tenants) {
      if (t.status.equals("training")) finish(t);
    }
    List<TenantResult> results = tenants.stream().map(t -> new TenantResult(t.name, t.status, t.rows, t.tokens, t.step,
        t.lastLoss, t.best, t.skipped, t.error, out + "/tenants/" + t.name)).toList();
    writeSummary(out, results, conf);
    return new Result(results);
  }

  /** Builds a tenant's adapter over the shared base, its step plan and schedule, and resumes it where it stopped. */
  private void open(Tenant t, ModelIdentity identity, double hashSeconds, Configuration conf) throws IOException {
    TrainConfig c = t.cfg;
    if (c.lora().init().equals("pissa")) {
      throw new IllegalArgumentException(TrainConfig.ROOT + ".lora.init = pissa rewrites the base weights, which the"
          + " tenants share: use another init with tenants");
    }
    Manifest.SplitInfo split = Manifest.read(new org.apache.hadoop.fs.Path(c.data()), conf).splits().get("train");
    t.rows = split.rows();
    t.tokens = split.trainedTokens();
    Lineage.Dataset dataset = Lineage.dataset(c.data(), conf);
    t.datasetHash = dataset.manifestSha256();
    t.spec = ModelSpec.of(c);
    t.train = new PreparedRows(c.data(), "train");
    t.validation = PreparedRows.has(c.data(), "validation") ? new PreparedRows(c.data(), "validation") : null;
    t.store = new CheckpointStore(c.output(), conf);
    if (t.rows == 0) {
      throw new IllegalArgumentException("its training split has no rows");
    }
    t.plan = new StepPlan(t.train.open().shardRows(), c.workers(), c.microBatch(), c.accumulation(), c.seed());
    t.lora = LoraModel.attach(Replicas.base(t.spec), c.lora());
    t.lora.initialise(c.seed());
    t.values = t.lora.model().params().flatValues();
    t.opt = Trainer.optimizer(c, t.lora.model().params());
    t.total = c.maxSteps() > 0 ? c.maxSteps() : c.epochs() * t.plan.stepsPerEpoch();
    t.warmup = c.warmupSteps() > 0 ? c.warmupSteps() : (long) Math.ceil(c.warmupRatio() * t.total);
    t.schedule = new LrSchedule(c.schedule(), c.optimizer().lr(), t.warmup, t.total);
    t.configHash = Trainer.configHash(c);
    t.lineage = Trainer.lineage(c, dataset, identity, t.configHash, hashSeconds, log);
    var latest = t.store.latest();
    if (latest.isPresent()) {
      TrainerState st = t.store.state(latest.get());
      if (!Trainer.configMatches(st, c)) {
        throw new IllegalArgumentException(c.output() + " holds checkpoints of a run with a different config;"
            + " choose a new output directory to start afresh");
      }
      if (!st.datasetHash().equals(t.datasetHash)) {
        throw new IllegalArgumentException(Trainer.differentDataset(c, dataset, t.store.lineage(latest.get()), latest.get()));
      }
      java.nio.file.Path local = t.store.localCopy(latest.get());
      Trainer.loadTrainable(t.lora.model(), t.lora, local);
      float[][] mv = CheckpointStore.optimizer(local);
      t.opt.restore(st.optimizerSteps(), Nd4j.createFromArray(mv[0]), Nd4j.createFromArray(mv[1]));
      t.step = st.globalStep();
      t.best = st.bestMetric();
      t.bestStep = st.bestStep();
      t.badEvals = st.evalsWithoutImprovement();
      t.skipped = st.skippedSteps();
      t.history.addAll(st.logHistory());
      t.lastLoss = t.history.stream().filter(e -> e.containsKey("loss"))
          .map(e -> ((Number) e.get("loss")).doubleValue()).reduce((a, b) -> b).orElse(null);
      log.println("laketune train: tenant " + t.name + " resumes from checkpoint step-" + t.step);
    }
  }

  /** The driver's half of a tenant's step, as {@link Trainer} does it: mean gradient, clipping, AdamW, metrics. */
  private void step(Tenant t, GradientSum sum, long roundMs, int workers) {
    double lr = t.schedule.at(t.step);
    double lossMean = sum.lossSum / Math.max(1, sum.tokens);
    INDArray g = Nd4j.createFromArray(sum.grad);
    if (sum.tokens > 0) g.divi(sum.tokens);
    double norm = AdamW.clipGradNorm(g, t.cfg.optimizer().maxGradNorm());
    if (!Double.isFinite(lossMean) || !Double.isFinite(norm)) {
      if (t.cfg.stopOnNonFinite()) throw new NonFiniteException(t.step, lossMean, norm);
      t.skipped++;
      log.println("laketune train: tenant " + t.name + " step " + t.step + " skipped: non-finite loss or gradient");
    } else {
      t.opt.step(t.values, g, lr);
    }
    long first = t.step;
    t.step++;
    t.lastLoss = lossMean;
    if (t.step % t.cfg.logEvery() == 0 || t.step == t.total) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("step", t.step);
      e.put("epoch", (double) first / t.plan.stepsPerEpoch());
      e.put("loss", lossMean);
      e.put("lr", lr);
      e.put("grad_norm", norm);
      e.put("tokens", sum.tokens);
      e.put("round_ms", roundMs);
      e.put("sync_bytes", 4L * t.values.length() * (1 + workers));
      t.history.add(e);
    }
  }

  /** Validation loss of every tenant due, in one Spark job; which of them improved on their best. */
  private Map<String, Boolean> evaluate(List<Tenant> due) {
    Map<String, Boolean> improved = new HashMap<>();
    if (due.isEmpty()) return improved;
    record Eval(String tenant, ModelSpec spec, RowSource source, int micro) implements java.io.Serializable {}
    Map<String, float[]> values = new HashMap<>();
    List<Eval> evals = new ArrayList<>();
    for (Tenant t : due) {
      values.put(t.name, t.values.toFloatVector());
      evals.add(new Eval(t.name, t.spec, t.validation, t.cfg.microBatch()));
    }
    Broadcast<Map<String, float[]>> bv = sc.broadcast(values);
    int n = cfg.workers();
    Map<String, Loss> losses = sc.parallelize(IntStream.range(0, n).boxed().toList(), n).map(w -> {
      Map<String, Loss> m = new HashMap<>();
      for (Eval e : evals) m.put(e.tenant(), Worker.evaluate(e.spec(), e.source(), bv.value().get(e.tenant()), w, n, e.micro()));
      return m;
    }).reduce((a, b) -> {
      Map<String, Loss> m = new HashMap<>(a);
      b.forEach((k, v) -> m.merge(k, v, Loss::plus));
      return m;
    });
    bv.destroy();
    for (Tenant t : due) {
      Loss ev = losses.get(t.name);
      double evalLoss = ev.mean();
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("step", t.step);
      e.put("eval_loss", evalLoss);
      e.put("eval_perplexity", Math.exp(evalLoss));
      e.put("eval_tokens", ev.count());
      t.history.add(e);
      log.printf(Locale.ROOT, "laketune train: tenant %s step %d validation loss %.4f%n", t.name, t.step, evalLoss);
      if (t.best == null || evalLoss < t.best) {
        t.best = evalLoss;
        t.bestStep = t.step;
        t.badEvals = 0;
        improved.put(t.name, true);
      } else if (t.cfg.earlyStoppingPatience() > 0 && ++t.badEvals >= t.cfg.earlyStoppingPatience()) {
        log.println("laketune train: tenant " + t.name + " stops early at step " + t.step);
        t.stop = true;
      }
    }
    return improved;
  }

  /** final/adapter (the best checkpoint's with load_best_at_end), metrics.jsonl and loss.png of a tenant. */
  private void finish(Tenant t) throws IOException {
    if (t.cfg.loadBestAtEnd() && t.bestStep != null && t.bestStep != t.step) {
      Trainer.loadTrainable(t.lora.model(), t.lora, t.store.localCopy(t.bestStep));
    }
    Trainer.publishFinal(t.cfg, t.store, t.lora.model(), t.lora, t.lineage, t.step);
    Trainer.writeMetrics(t.store, t.history);
    t.store.writeFile("loss.png", LossChart.png(t.history, "laketune " + t.cfg.method().name().toLowerCase(Locale.ROOT)
        + " — tenant " + t.name));
    t.status = "done";
    log.printf(Locale.ROOT, "laketune train: tenant %s done: %d steps%s%n", t.name, t.step,
        t.best == null ? "" : String.format(Locale.ROOT, ", best validation loss %.4f", t.best));
  }

  private void writeSummary(String out, List<TenantResult> results, Configuration conf) throws IOException {
    List<Map<String, Object>> list = new ArrayList<>();
    for (TenantResult r : results) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("tenant", r.tenant());
      m.put("status", r.status());
      m.put("rows", r.rows());
      m.put("tokens", r.tokens());
      m.put("steps", r.steps());
      m.put("last_loss", r.lastLoss());
      m.put("best_validation_loss", r.bestEvalLoss());
      m.put("skipped_steps", r.skippedSteps());
      if (r.error() != null) m.put("error", r.error());
      m.put("adapter", r.failed() ? null : r.output() + "/final/adapter");
      list.add(m);
    }
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("format", SUMMARY_FORMAT);
    doc.put("format_version", SUMMARY_VERSION);
    doc.put("run", out);
    doc.put("data", cfg.data());
    doc.put("tenants", list);
    new CheckpointStore(out, conf).writeFile(SUMMARY, CheckpointStore.JSON.writeValueAsBytes(doc));
  }
}
