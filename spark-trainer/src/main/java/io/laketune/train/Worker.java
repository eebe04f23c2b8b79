package io.laketune.train;

import io.laketune.model.Batch;
import io.laketune.model.Loss;
import io.laketune.optim.AdamW;
import io.laketune.optim.LrSchedule;
import io.laketune.optim.ParamGroups;
import io.laketune.prep.pack.PackedRow;
import io.laketune.train.data.RowBatches;
import io.laketune.train.data.RowSource;
import io.laketune.train.data.Rows;
import io.laketune.train.data.StepPlan;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.TaskContext;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** What a task does in one round, on the executor. Everything is a function of its arguments. */
final class Worker {
  private Worker() {}

  /** Spark conf key of the fault-injection hook: "step:worker" fails that task's first attempt. */
  static final String FAIL_ONCE = "spark.laketune.test.failOnce";

  static Batch microBatch(Rows rows, StepPlan plan, long step, int globalMicro) {
    List<PackedRow> list = new ArrayList<>();
    int[][] at = plan.microBatchRows(step, globalMicro);
    for (int i = 0; i < at[0].length; i++) list.add(rows.row(at[0][i], at[1][i]));
    return RowBatches.toBatch(list, rows.seqLen());
  }

  /** The dropout seed of one global micro-batch: the same whatever the worker count. */
  static long dropoutSeed(long seed, long step, int globalMicro) {
    return seed * 0x9E3779B97F4A7C15L + step * 1_000_003L + globalMicro;
  }

  /**
   * Spark conf key of the executor-loss hook: "step:worker:marker" halts the JVM of that task the first
   * time it runs (the marker file records that it did), as a killed executor would die. Tests only;
   * never acts in the driver's JVM.
   */
  static final String HALT_ONCE = "spark.laketune.test.haltOnce";

  static void maybeHalt(long step, int worker) {
    TaskContext tc = TaskContext.get();
    String spec = tc == null ? null : tc.getLocalProperty(HALT_ONCE);
    if (spec == null || "driver".equals(org.apache.spark.SparkEnv.get().executorId())) return;
    String[] f = spec.split(":", 3);
    if (f.length != 3 || Long.parseLong(f[0]) != step || Integer.parseInt(f[1]) != worker) return;
    java.io.File marker = new java.io.File(f[2]);
    try {
      if (!marker.createNewFile()) return;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Runtime.getRuntime().halt(137);
  }

  static void maybeFail(long step, int worker) {
    TaskContext tc = TaskContext.get();
    if (tc == null || tc.attemptNumber() > 0) return;
    String spec = tc.getLocalProperty(FAIL_ONCE);
    if (spec != null && spec.equals(step + ":" + worker)) {
      throw new IllegalStateException("injected failure of step " + step + " worker " + worker + " (" + FAIL_ONCE + ")");
    }
  }

  /** Gradients of the summed token loss of worker w's micro-batches of one step. */
  static GradientSum gradients(ModelSpec spec, RowSource source, StepPlan plan, float[] values, long step,
      int worker, long seed) {
    long t0 = System.currentTimeMillis();
    Rows rows = source.open();
    Replica r = Replicas.borrow(spec);
    try {
      r.load(values);
      Loss total = accumulate(r, rows, plan, step, worker, seed);
      maybeFail(step, worker);
      return new GradientSum().add(r.grads(), total.sum(), total.count(), t0, System.currentTimeMillis());
    } finally {
      r.eval();
      Replicas.release(spec, r);
    }
  }

  /** Runs worker w's micro-batches of one step on a loaded replica, adding into its (zeroed) gradients. */
  static Loss accumulate(Replica r, Rows rows, StepPlan plan, long step, int worker, long seed) {
    Loss total = new Loss(0, 0);
    for (int a = 0; a < plan.accumulation(); a++) {
      int j = plan.globalMicroBatch(worker, a);
      r.train(dropoutSeed(seed, step, j));
      total = total.plus(r.forwardBackward(microBatch(rows, plan, step, j)));
    }
    return total;
  }

  /**
   * Local SGD: {@code localSteps} AdamW steps on worker w's share of steps first..first+k-1,
   * starting from the broadcast parameters and moments.
   */
  static LocalSum localSteps(ModelSpec spec, RowSource source, StepPlan plan, float[] values, float[] m, float[] v,
      long optimizerSteps, long first, int k, int worker, TrainConfig cfg, LrSchedule schedule) {
    long t0 = System.currentTimeMillis();
    Rows rows = source.open();
    Replica r = Replicas.borrow(spec);
    try {
      r.load(values);
      AdamW opt = Trainer.optimizer(cfg, r.model.params());
      opt.restore(optimizerSteps, Nd4j.createFromArray(m), Nd4j.createFromArray(v));
      RoundStats st = localStepsOn(r, opt, rows, plan, first, k, worker, cfg, schedule);
      double lossSum = st.lossSum();
      long tokens = st.tokens(), skipped = st.skipped();
      maybeFail(first, worker);
      return new LocalSum().add(r.values(), opt.expAvg().toFloatVector(), opt.expAvgSq().toFloatVector(), lossSum,
          tokens, System.currentTimeMillis() - t0, skipped);
    } finally {
      r.eval();
      Replicas.release(spec, r);
    }
  }

  /** {@code k} AdamW steps of local SGD on a loaded replica and optimizer; stats without compute time. */
  static RoundStats localStepsOn(Replica r, AdamW opt, Rows rows, StepPlan plan, long first, int k, int worker,
      TrainConfig cfg, LrSchedule schedule) {
    INDArray params = r.model.params().flatValues();
    double lossSum = 0;
    long tokens = 0, skipped = 0;
    for (long step = first; step < first + k; step++) {
      r.model.params().zeroGrads();
      Loss loss = new Loss(0, 0);
      for (int a = 0; a < plan.accumulation(); a++) {
        int j = plan.globalMicroBatch(worker, a);
        r.train(dropoutSeed(cfg.seed(), step, j));
        loss = loss.plus(r.forwardBackward(microBatch(rows, plan, step, j)));
      }
      INDArray g = r.model.params().flatGrads();
      if (loss.count() > 0) g.divi(loss.count());
      double norm = AdamW.clipGradNorm(g, cfg.optimizer().maxGradNorm());
      if (!Double.isFinite(loss.sum()) || !Double.isFinite(norm)) {
        if (cfg.stopOnNonFinite()) throw new NonFiniteException(step, loss.mean(), norm);
        skipped++;
        continue;
      }
      opt.step(params, g, schedule.at(step));
      lossSum += loss.sum();
      tokens += loss.count();
    }
    r.eval();
    return new RoundStats(lossSum, tokens, skipped, 0, 0, 1);
  }

  /** Loss over the validation rows whose index (shard by shard) is worker modulo workers, in micro-batches. */
  static Loss evaluate(ModelSpec spec, RowSource source, float[] values, int worker, int workers, int micro) {
    Rows rows = source.open();
    Replica r = Replicas.borrow(spec);
    try {
      r.load(values);
      return evaluateOn(r, rows, worker, workers, micro);
    } finally {
      Replicas.release(spec, r);
    }
  }

  /** The same on a replica already loaded with the parameters to evaluate. */
  static Loss evaluateOn(Replica r, Rows rows, int worker, int workers, int micro) {
    r.eval();
    Loss total = new Loss(0, 0);
    List<PackedRow> batch = new ArrayList<>();
    long[] shards = rows.shardRows();
    long index = 0;
    for (int sh = 0; sh < shards.length; sh++) {
      for (int i = 0; i < shards[sh]; i++, index++) {
        if (index % workers != worker) continue;
        batch.add(rows.row(sh, i));
        if (batch.size() == micro) {
          total = total.plus(r.model.loss(RowBatches.toBatch(batch, rows.seqLen())));
          batch.clear();
        }
      }
    }
    if (!batch.isEmpty()) total = total.plus(r.model.loss(RowBatches.toBatch(batch, rows.seqLen())));
    return total;
  }
}
