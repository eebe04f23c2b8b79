package io.laketune.model;

import io.laketune.nn.ParamStore;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A decoder-only language model with forward, backward and cached decoding. */
public interface CausalLm {

  ModelConfig config();

  ParamStore params();

  /** Logits [B*T, V] (row n = b*T + t). */
  INDArray logits(Batch batch);

  /** The loss over the batch's labels, forward only. */
  Loss loss(Batch batch);

  /** The loss of each row of the batch (sum and count over its own labels), forward only: one forward for all rows. */
  Loss[] rowLosses(Batch batch);

  /**
   * Forward and backward: adds d(loss)/d(param) * gradScale * count into the trainable gradients,
   * i.e. the gradient of {@code gradScale * sum} of token losses. Pass 1/count for this batch's mean,
   * or 1/(global count) to accumulate micro-batches and workers into one mean.
   */
  Loss forwardBackward(Batch batch, double gradScale);

  /** Recompute each block's activations in backward instead of keeping them (less memory). */
  void setActivationCheckpointing(boolean enabled);

  KvCache newCache(int capacity);

  /** Appends tokens to the cache and returns the logits [V] of the last one. */
  INDArray decode(int[] tokens, KvCache cache);
}
