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

  /**
   * One new token for each of B sequences, tokens[i] appended to caches[i]; returns the logits [B, V].
   * Equal to B single-sequence decodes; a model may run the B rows through its layers together.
   */
  default INDArray decode(int[] tokens, KvCache[] caches) {
    if (tokens.length != caches.length) throw new IllegalArgumentException(tokens.length + " tokens for " + caches.length + " caches");
    INDArray[] rows = new INDArray[tokens.length];
    for (int i = 0; i < tokens.length; i++) rows[i] = decode(new int[] {tokens[i]}, caches[i]).reshape(1, config().vocabSize());
    return org.nd4j.linalg.factory.Nd4j.vstack(rows);
  }
}
