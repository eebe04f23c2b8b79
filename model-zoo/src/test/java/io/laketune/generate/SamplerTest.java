package io.laketune.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Sampling follows HF's warpers: temperature, then top-k, then top-p. */
class SamplerTest {
  // probabilities at temperature 1: 0.5, 0.25, 0.125, 0.0625, 0.0625
  static final float[] LOGITS = {
    (float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.125),
    (float) Math.log(0.0625), (float) Math.log(0.0625)};

  static double[] frequencies(Sampler s, int draws) {
    double[] f = new double[LOGITS.length];
    for (int i = 0; i < draws; i++) f[s.next(LOGITS)] += 1.0 / draws;
    return f;
  }

  @Test
  void greedyIsArgmax() {
    assertEquals(0, new Sampler(0, 0, 1.0, 1).next(LOGITS));
    assertEquals(2, Sampler.argmax(new float[] {0f, 1f, 3f, 2f}));
  }

  @Test
  void plainSamplingFollowsTheSoftmax() {
    double[] f = frequencies(new Sampler(1.0, 0, 1.0, 42), 40_000);
    assertEquals(0.5, f[0], 0.01);
    assertEquals(0.25, f[1], 0.01);
    assertEquals(0.0625, f[4], 0.01);
  }

  @Test
  void topKKeepsTheKMostLikely() {
    double[] f = frequencies(new Sampler(1.0, 2, 1.0, 7), 30_000);
    assertEquals(2.0 / 3, f[0], 0.015);
    assertEquals(1.0 / 3, f[1], 0.015);
    assertEquals(0.0, f[2] + f[3] + f[4], 0.0);
  }

  @Test
  void topPKeepsTheSmallestSetReachingP() {
    // HF keeps token i while the mass of strictly more likely tokens is below p:
    // p = 0.7 keeps {0.5, 0.25}; p = 0.75 also keeps exactly {0.5, 0.25}; p = 0.76 adds the third.
    double[] a = frequencies(new Sampler(1.0, 0, 0.7, 3), 20_000);
    assertEquals(0.0, a[2] + a[3] + a[4], 0.0);
    double[] b = frequencies(new Sampler(1.0, 0, 0.76, 3), 20_000);
    assertTrue(b[2] > 0.1, "third token kept at p=0.76");
    assertEquals(0.0, b[3] + b[4], 0.0);
  }

  @Test
  void lowTemperatureSharpens() {
    double[] f = frequencies(new Sampler(0.25, 0, 1.0, 5), 20_000);
    assertTrue(f[0] > 0.9, "temperature 0.25 concentrates on the top token: " + f[0]);
  }

  @Test
  void sameSeedSameDraws() {
    Sampler a = new Sampler(1.0, 0, 0.9, 99), b = new Sampler(1.0, 0, 0.9, 99);
    for (int i = 0; i < 100; i++) assertEquals(a.next(LOGITS), b.next(LOGITS));
  }

  @Test
  void badSettingsAreNamed() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(-1, 0, 1, 0)).getMessage().contains("temperature"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 0, 0)).getMessage().contains("top-p"));
  }
}
