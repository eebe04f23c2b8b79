package io.laketune.cli;

import io.laketune.prep.reader.PreparedDataset;
import io.laketune.train.Lineage;
import io.laketune.train.MemoryCheck;
import io.laketune.train.TenantTrainer;
import io.laketune.train.TrainConfig;
import io.laketune.train.Trainer;
import io.laketune.train.data.PreparedRows;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code laketune train --config FILE}: full, LoRA or QLoRA training on a prepared dataset (see
 * spark-trainer's reference.conf). Under spark-submit it runs on the cluster spark-submit names; on
 * its own, Spark runs in local mode with one core per worker. Running the same command again resumes
 * from the run's latest complete checkpoint.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train (full, LoRA, QLoRA) on a prepared dataset: a Spark job; rerun to resume.")
public final class TrainCommand implements Callable<Integer> {

  @Option(names = "--config", required = true, description = "HOCON run file with a laketune.train section.")
  Path config;

  @Option(names = "--set", description = "Override a key, e.g. --set optimizer.lr=1e-4 (repeatable).")
  List<String> sets = new ArrayList<>();

  @Option(names = "--master", description = "Spark master when not run by spark-submit (default local[workers]).")
  String master;

  @Option(names = "--dry-run", description = "Print the memory plan of this run (as laketune plan does) and stop.")
  boolean dryRun;

  /** Refuses a run whose executors cannot hold its step, before any data is read. */
  static void checkMemory(SparkSession spark, TrainConfig cfg, int seqLen) {
    MemoryCheck.Executor ex = MemoryCheck.executor(spark.sparkContext().getConf(), cfg.workers());
    io.laketune.model.MemoryPlan plan = MemoryCheck.plan(cfg, seqLen, ex.tasks(), spark.sparkContext().hadoopConfiguration());
    if (plan != null) MemoryCheck.require(plan, ex, cfg, seqLen, MemoryCheck.jvmNativeBytes());
  }

  @Override
  public Integer call() throws Exception {
    TrainConfig cfg = TrainConfig.load(config, sets);
    PreparedDataset data = PreparedDataset.open(cfg.data(), new Configuration());
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    if (dryRun) {
      out.print(PlanCommand.describe(cfg, data.manifest().seqLen(), new org.apache.spark.SparkConf()
          .setIfMissing("spark.master", master != null ? master : "local[" + cfg.workers() + "]")));
      return 0;
    }
    if (cfg.tenants().any()) return tenants(cfg, data.manifest().seqLen());
    SparkSession spark = LocalSpark.session("laketune train", master, "local[" + cfg.workers() + "]");
    try {
      checkMemory(spark, cfg, data.manifest().seqLen());
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      PreparedRows validation = PreparedRows.has(cfg.data(), "validation") ? new PreparedRows(cfg.data(), "validation") : null;
      Trainer.Result r = new Trainer(sc, cfg, new PreparedRows(cfg.data(), "train"), validation,
          Lineage.dataset(cfg.data(), new Configuration()), out).run();
      out.printf("laketune train: %d steps, last training loss %.4f%s%n", r.steps(), r.lastLoss(),
          r.bestEvalLoss() == null ? "" : String.format(", best validation loss %.4f", r.bestEvalLoss()));
      out.println("laketune train: " + cfg.output() + "/final holds the "
          + (cfg.method() == TrainConfig.Method.FULL ? "model" : "adapter") + "; metrics.jsonl and loss.png beside it");
      if (r.skippedSteps() > 0) out.println("laketune train: " + r.skippedSteps() + " steps were skipped for non-finite values");
    } finally {
      spark.stop();
    }
    return 0;
  }

  /** One adapter per tenant in one job; exits 1 when a tenant failed (the others are trained). */
  private int tenants(TrainConfig cfg, int seqLen) throws Exception {
    TenantTrainer.tenants(cfg, new Configuration());
    SparkSession spark = LocalSpark.session("laketune train", master, "local[" + cfg.workers() + "]");
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    try {
      checkMemory(spark, cfg, seqLen);
      TenantTrainer.Result r = new TenantTrainer(JavaSparkContext.fromSparkContext(spark.sparkContext()), cfg, out).run();
      for (TenantTrainer.TenantResult t : r.tenants()) {
        out.printf("laketune train: tenant %-16s %-6s %4d steps%s%s%n", t.tenant(), t.status(), t.steps(),
            t.bestEvalLoss() == null ? "" : String.format(", best validation loss %.4f", t.bestEvalLoss()),
            t.error() == null ? "" : ": " + t.error());
      }
      out.println("laketune train: " + cfg.output() + "/tenants/<tenant>/final/adapter hold the adapters; "
          + TenantTrainer.SUMMARY + " sums them up");
      if (r.failed() > 0) {
        System.err.println("laketune train: " + r.failed() + " of " + r.tenants().size() + " tenants failed; see "
            + cfg.output() + "/" + TenantTrainer.SUMMARY + "; rerunning resumes every tenant where it stopped");
        return 1;
      }
    } finally {
      spark.stop();
    }
    return 0;
  }
}
