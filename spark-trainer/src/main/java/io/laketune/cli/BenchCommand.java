package io.laketune.cli;

import io.laketune.bench.TrainStepBenchmark;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code laketune bench}: forward+backward+AdamW tokens/s and MFU of full fp32 training on this machine. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Training-step throughput (tokens/s, MFU) of a Llama-shaped 34M-parameter model.")
public final class BenchCommand implements Callable<Integer> {
  @Option(names = "--batch", defaultValue = "4", description = "Rows per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--seq", defaultValue = "256", description = "Tokens per row (default ${DEFAULT-VALUE}).")
  int seq;

  @Option(names = "--steps", defaultValue = "5", description = "Timed steps (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--method", defaultValue = "FULL", description = "FULL (default), LORA (r=16 on all linear modules) or QLORA (LoRA over NF4 + double quant).")
  TrainStepBenchmark.Method method;

  @Option(names = "--checkpointing", description = "Activation checkpointing on (recompute blocks in backward).")
  boolean checkpointing;

  @Option(names = "--profile", description = "Print where a step's time goes: GEMMs, attention, norms, elementwise, optimizer.")
  boolean profile;

  @Option(names = "--warmup", defaultValue = "2", description = "Untimed steps before the timed ones (default ${DEFAULT-VALUE}).")
  int warmup;

  @Override
  public Integer call() throws Exception {
    if (batch <= 0 || seq <= 1 || steps <= 0 || warmup < 0) {
      throw new IllegalArgumentException("--batch and --steps must be positive, --warmup not negative and --seq at least 2");
    }
    TrainStepBenchmark.run(batch, seq, steps, method, checkpointing, warmup, profile);
    return 0;
  }
}
