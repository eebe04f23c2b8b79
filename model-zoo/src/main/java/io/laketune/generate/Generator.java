package io.laketune.generate;

import io.laketune.model.CausalLm;
import io.laketune.model.KvCache;
import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Autoregressive generation with a KV cache: the prompt is prefilled in one pass, then each new
 * token costs one single-token step; several sequences can step together in one batched pass.
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

  /**
   * Generation of several sequences at once: each prompt is prefilled on its own, then every step
   * decodes one token of each sequence still going in one batched pass ({@link CausalLm#decode(int[],
   * KvCache[])}). Sequence i draws from samplers[i] exactly as {@link #generate} would, so each result
   * equals that sequence generated alone.
   *
   * @return per prompt, the new tokens (a stop token included)
   */
  public static int[][] generate(CausalLm model, int[][] prompts, int maxNewTokens, Sampler[] samplers, int[] stopTokens) {
    if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
    int b = prompts.length;
    KvCache[] caches = new KvCache[b];
    float[][] logits = new float[b][];
    int[][] out = new int[b][maxNewTokens];
    int[] n = new int[b];
    boolean[] done = new boolean[b];
    for (int i = 0; i < b; i++) {
      if (prompts[i].length == 0) throw new IllegalArgumentException("prompt " + i + " is empty: give at least one token");
      caches[i] = model.newCache(prompts[i].length + maxNewTokens);
      if (maxNewTokens > 0) logits[i] = toFloat(model, model.decode(prompts[i], caches[i]));
      done[i] = maxNewTokens == 0;
    }
    while (true) {
      int[] active = IntStream.range(0, b).filter(i -> !done[i]).toArray();
      if (active.length == 0) break;
      int[] next = new int[active.length];
      KvCache[] going = new KvCache[active.length];
      int m = 0;
      for (int i : active) {
        int t = samplers[i].next(logits[i]);
        out[i][n[i]++] = t;
        if (contains(stopTokens, t) || n[i] == maxNewTokens) {
          done[i] = true;
          continue;
        }
        next[m] = t;
        going[m++] = caches[i];
      }
      if (m == 0) break;
      INDArray all = model.decode(Arrays.copyOf(next, m), Arrays.copyOf(going, m));
      m = 0;
      for (int i : active) if (!done[i]) logits[i] = toFloat(model, all.getRow(m++));
    }
    int[][] result = new int[b][];
    for (int i = 0; i < b; i++) result[i] = Arrays.copyOf(out[i], n[i]);
    return result;
  }

  private static float[] toFloat(CausalLm model, INDArray logits) {
    return logits.dataType() == DataType.FLOAT ? logits.toFloatVector() : logits.castTo(DataType.FLOAT).toFloatVector();
  }

  private static boolean contains(int[] set, int x) {
    if (set == null) return false;
    for (int s : set) if (s == x) return true;
    return false;
  }
}
