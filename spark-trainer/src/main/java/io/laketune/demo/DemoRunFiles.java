package io.laketune.demo;

import com.typesafe.config.ConfigUtil;

/**
 * The run files the demo writes and runs: the laketune.prep and laketune.train sections for a work
 * directory. cluster-configs/local_lora_demo.conf holds the same sections for ./laketune-demo, and
 * a test keeps the two equal.
 *
 * <p>The numbers are chosen for a 2-core laptop: sequences of 256 tokens, 2 workers with 4 rows
 * each (2048 tokens per step), a learning rate high enough to move a LoRA of rank 8 in tens of
 * steps, and an evaluation and a checkpoint every 10 steps so that the loss curve has points and an
 * interrupted run resumes.
 */
public final class DemoRunFiles {
  public static final int DEFAULT_STEPS = 30;
  public static final int EVAL_EVERY = 10;

  private DemoRunFiles() {}

  /** The laketune.prep section for the work directory {@code root} (as it should appear in the file). */
  public static String prepare(String root) {
    return "laketune.prep {\n"
        + "  input = " + quoted(root + "/" + DemoDataset.FILE_NAME) + "\n"
        + "  output = " + quoted(root + "/data") + "\n"
        + "  tokenizer = " + quoted(root + "/model") + "\n"
        + "  # {\"prompt\", \"completion\"} lines: the loss is on the completion (and the appended eos token)\n"
        + "  format.type = prompt_completion\n"
        + "  length.seq_len = 256\n"
        + "  split.validation_fraction = 0.1\n"
        + "  progress_seconds = 0\n"
        + "}\n";
  }

  /** The laketune.train section for the work directory {@code root}, training {@code steps} steps. */
  public static String train(String root, int steps) {
    return "laketune.train {\n"
        + "  model = " + quoted(root + "/model") + "\n"
        + "  data = " + quoted(root + "/data") + "\n"
        + "  output = " + quoted(root + "/run") + "\n"
        + "  method = lora\n"
        + "  lora { r = 8, alpha = 16, dropout = 0.0, target_modules = all-linear }\n"
        + "  # Spark local mode runs one task per worker: local[2]\n"
        + "  workers = 2\n"
        + "  batch.micro_batch_size = 4\n"
        + "  max_steps = " + steps + "\n"
        + "  optimizer.lr = 5e-3\n"
        + "  schedule { type = cosine, warmup_steps = 2 }\n"
        + "  eval.every_steps = " + EVAL_EVERY + "\n"
        + "  checkpoint.every_steps = " + EVAL_EVERY + "\n"
        + "}\n";
  }

  /** A HOCON string: a path with quotes, backslashes or non-ASCII characters stays intact. */
  static String quoted(String s) {
    return ConfigUtil.quoteString(s);
  }
}
