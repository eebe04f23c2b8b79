package io.laketune.peft;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training mode and the dropout stream of a model's adapters. The trainer sets the step seed
 * before each forward/backward; a mask is a pure function of (step seed, layer), so a recomputed
 * block and a resumed run draw exactly the same masks.
 */
public final class AdapterState {
  private boolean training;
  private long stepSeed;

  public boolean training() {
    return training;
  }

  /** Dropout on, with masks drawn from {@code stepSeed}. */
  public void train(long stepSeed) {
    this.training = true;
    this.stepSeed = stepSeed;
  }

  /** Dropout off (evaluation, generation). */
  public void eval() {
    this.training = false;
  }

  /** Inverted-dropout mask: 0 with probability p, else 1 / (1 - p). */
  INDArray dropoutMask(int layerId, long[] shape, double p, DataType type) {
    long seed = stepSeed * 0x9E3779B97F4A7C15L + layerId * 0xBF58476D1CE4E5B9L;
    Nd4j.getRandom().setSeed(seed);
    INDArray mask = Nd4j.create(type, shape);
    Nd4j.getExecutioner().exec(new BernoulliDistribution(mask, 1.0 - p), Nd4j.getRandom());
    return mask.muli(1.0 / (1.0 - p));
  }
}
