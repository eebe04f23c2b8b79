package io.laketune.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code trainer_state.json} of a checkpoint: where training stands (the next step to run), the
 * data cursor (epoch and step within it: which rows come next is a function of it and the seed), the
 * random state (every dropout mask is drawn from a seed derived from (seed, step, micro-batch), so the
 * seed and the step are the whole state), the learning-rate schedule, the best evaluation so far,
 * the lineage hashes of config and dataset, and the metric history up to here.
 */
public record TrainerState(
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("global_step") long globalStep,
    @JsonProperty("epoch") int epoch,
    @JsonProperty("steps_per_epoch") long stepsPerEpoch,
    @JsonProperty("max_steps") long maxSteps,
    @JsonProperty("seed") long seed,
    @JsonProperty("data_cursor") Map<String, Object> dataCursor,
    @JsonProperty("rng") Map<String, Object> rng,
    @JsonProperty("schedule") Map<String, Object> schedule,
    @JsonProperty("optimizer_steps") long optimizerSteps,
    @JsonProperty("best_metric") Double bestMetric,
    @JsonProperty("best_step") Long bestStep,
    @JsonProperty("evals_without_improvement") int evalsWithoutImprovement,
    @JsonProperty("skipped_steps") long skippedSteps,
    @JsonProperty("config_sha256") String configHash,
    @JsonProperty("dataset_sha256") String datasetHash,
    @JsonProperty("log_history") List<Map<String, Object>> logHistory) {

  public static final int FORMAT_VERSION = 1;

  public TrainerState {
    logHistory = logHistory == null ? new ArrayList<>() : new ArrayList<>(logHistory);
  }
}
