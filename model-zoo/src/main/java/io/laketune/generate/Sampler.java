package io.laketune.generate;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from logits [V] like HF generate's warpers, in HF's order: temperature,
 * then top-k, then top-p (nucleus: keep the smallest set of most likely tokens whose mass reaches
 * p, always at least one), then a draw. Temperature 0 is greedy argmax.
 */
public final class Sampler {
  private final double temperature;
  private final int topK;
  private final double topP;
  private final Random random;

  public Sampler(double temperature, int topK, double topP, long seed) {
    if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
    if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
    if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
    this.temperature = temperature;
    this.topK = topK;
    this.topP = topP;
    this.random = new Random(seed);
  }

  public static int argmax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }

  public int next(float[] logits) {
    if (temperature == 0) return argmax(logits);
    int v = logits.length;
    Integer[] order = new Integer[v];
    for (int i = 0; i < v; i++) order[i] = i;
    Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
    int keep = topK > 0 ? Math.min(topK, v) : v;
    double max = logits[order[0]] / temperature;
    double[] p = new double[keep];
    double total = 0;
    for (int i = 0; i < keep; i++) {
      p[i] = Math.exp(logits[order[i]] / temperature - max);
      total += p[i];
    }
    // Nucleus: HF removes a token when the mass of the tokens strictly more likely reaches top_p.
    double cumulative = 0;
    int nucleus = keep;
    for (int i = 0; i < keep; i++) {
      if (i > 0 && cumulative >= topP * total) {
        nucleus = i;
        break;
      }
      cumulative += p[i];
    }
    double mass = 0;
    for (int i = 0; i < nucleus; i++) mass += p[i];
    double u = random.nextDouble() * mass;
    for (int i = 0; i < nucleus; i++) {
      u -= p[i];
      if (u <= 0) return order[i];
    }
    return order[nucleus - 1];
  }
}
