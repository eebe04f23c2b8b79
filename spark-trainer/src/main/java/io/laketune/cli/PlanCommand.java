package io.laketune.cli;

import io.laketune.bench.TrainStepBenchmark;
import io.laketune.model.MemoryPlan;
import io.laketune.model.ModelConfig;
import io.laketune.peft.LoraConfig;
import io.laketune.prep.reader.PreparedDataset;
import io.laketune.quant.ModelQuantizer;
import io.laketune.train.MemoryCheck;
import io.laketune.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code laketune plan}: the predicted peak memory of a training run per executor, broken down
 * ({@link MemoryPlan}), against what its executors have. {@code --config} plans a run file (the
 * sequence length from its dataset's manifest, or {@code --seq}); {@code --bench} plans the benchmark
 * model's step as {@code laketune bench} runs it.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
    description = "Predicted peak memory per executor of a training run, broken down, and whether it fits.")
public final class PlanCommand implements Callable<Integer> {
  @Option(names = "--config", description = "HOCON run file with a laketune.train section.")
  Path config;

  @Option(names = "--set", description = "Override a key, e.g. --set batch.micro_batch_size=1 (repeatable).")
  List<String> sets = new ArrayList<>();

  @Option(names = "--seq", description = "Tokens per row (default: the dataset's seq_len; 256 with --bench).")
  Integer seq;

  @Option(names = "--master", description = "Spark master whose executors to plan for (default local[workers]).")
  String master;

  @Option(names = "--bench", description = "Plan the benchmark model's step (laketune bench) instead of a run file.")
  boolean bench;

  @Option(names = "--method", defaultValue = "LORA", description = "With --bench: FULL, LORA (default) or QLORA.")
  TrainStepBenchmark.Method method;

  @Option(names = "--batch", defaultValue = "1", description = "With --bench: rows per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--checkpointing", description = "With --bench: activation checkpointing on.")
  boolean checkpointing;

  @Override
  public Integer call() throws Exception {
    if (bench == (config != null)) throw new IllegalArgumentException("give either --config RUN.conf or --bench");
    if (bench) {
      int t = seq == null ? 256 : seq;
      if (batch < 1 || t < 2) throw new IllegalArgumentException("--batch must be positive and --seq at least 2");
      ModelConfig model = ModelConfig.parse(new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree(TrainStepBenchmark.CONFIG), "benchmark config");
      boolean qlora = method == TrainStepBenchmark.Method.QLORA;
      MemoryPlan plan = MemoryPlan.of(new MemoryPlan.Setup(model, MemoryPlan.Method.valueOf(method.name()),
          method == TrainStepBenchmark.Method.FULL ? null : LoraConfig.of(16, 32, List.of(LoraConfig.ALL_LINEAR)),
          qlora, qlora ? ModelQuantizer.Settings.qlora() : null, batch, t, checkpointing, 1));
      System.out.print(plan.format(Runtime.getRuntime().maxMemory(), MemoryCheck.jvmNativeBytes()));
      return 0;
    }
    TrainConfig cfg = TrainConfig.load(config, sets);
    int t = seq != null ? seq : PreparedDataset.open(cfg.data(), new Configuration()).manifest().seqLen();
    System.out.print(describe(cfg, t, new SparkConf().setIfMissing("spark.master",
        master != null ? master : "local[" + cfg.workers() + "]")));
    return 0;
  }

  /** The plan of a run and the verdict against its executors' memory, as plan and train --dry-run print it. */
  static String describe(TrainConfig cfg, int seqLen, SparkConf conf) {
    MemoryCheck.Executor ex = MemoryCheck.executor(conf, cfg.workers());
    MemoryPlan plan = MemoryCheck.plan(cfg, seqLen, ex.tasks(), new Configuration());
    if (plan == null) return "memory plan: not modelled for this model or adapter (the Llama family without DoRA is)\n";
    long jvm = MemoryCheck.jvmNativeBytes();
    StringBuilder b = new StringBuilder(plan.format(ex.heapBytes(), jvm));
    try {
      MemoryCheck.require(plan, ex, cfg, seqLen, jvm);
      b.append("fits: an executor has ").append(String.format("%.2f GB", ex.limitBytes() / 1073741824.0))
          .append(" (").append(ex.source()).append(")\n");
    } catch (IllegalArgumentException e) {
      b.append("does not fit: ").append(e.getMessage()).append('\n');
    }
    return b.toString();
  }
}
