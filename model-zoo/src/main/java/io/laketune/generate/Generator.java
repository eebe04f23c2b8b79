package io.laketune.generate;

import io.laketune.model.CausalLm;
import io.laketune.model.KvCache;
import java.util.Arrays;
import java.util.function.IntConsumer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Autoregressive generation of one sequence with a KV cache: the prompt is prefilled in one pass,
 * then each new token costs one single-token step.
 */
public final class Generator {
  private Generator() {}

  /**
   * @param stopTokens generation ends after emitting one of these (it is included in the result)
   * @param onToken called with each new token as it is produced (streaming); may be null
   * @return the new tokens, without the prompt
   */
  public static int[] generate(CausalLm model, int[] prompt, int maxNewTokens, Sampler sampler,
      int[] stopTokens, IntConsumer onToken) {
    if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty: give at least one token");
    if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
    KvCache cache = model.newCache(prompt.length + maxNewTokens);
    int[] out = new int[maxNewTokens];
    int n = 0;
    float[] logits = maxNewTokens == 0 ? null : toFloat(model, model.decode(prompt, cache));
    while (n < maxNewTokens) {
      int next = sampler.next(logits);
      out[n++] = next;
      if (onToken != null) onToken.accept(next);
      if (contains(stopTokens, next) || n == maxNewTokens) break;
      logits = toFloat(model, model.decode(new int[] {next}, cache));
    }
    return Arrays.copyOf(out, n);
  }

  private static float[] toFloat(CausalLm model, org.nd4j.linalg.api.ndarray.INDArray logits) {
    return logits.dataType() == DataType.FLOAT ? logits.toFloatVector() : logits.castTo(DataType.FLOAT).toFloatVector();
  }

  private static boolean contains(int[] set, int x) {
    if (set == null) return false;
    for (int s : set) if (s == x) return true;
    return false;
  }
}
