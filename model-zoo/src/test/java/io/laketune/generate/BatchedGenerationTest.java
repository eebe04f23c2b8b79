package io.laketune.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batched KV-cache generation ({@link Generator#generate(CausalLm, int[][], int, Sampler[], int[])}):
 * each sequence of a batch of different prompt lengths gets what it gets alone — greedy, sampled, and
 * stopping early while the others go on — and greedy decoding from the cache equals greedy decoding
 * by recomputing the whole sequence (no cache) at every step.
 */
class BatchedGenerationTest {
  static final int[][] PROMPTS = {{1, 7, 3, 9, 4}, {2}, {5, 6, 11}};

  @ParameterizedTest
  @ValueSource(strings = {"llama", "mistral", "qwen2", "gpt2"})
  void eachSequenceOfABatchIsWhatItIsAlone(String fixture) throws Exception {
    CausalLm lm = HfModels.load(Fixtures.dir(fixture), HfModels.Options.inference());
    int max = 12;
    for (double temperature : new double[] {0, 0.9}) {
      Sampler[] samplers = new Sampler[PROMPTS.length];
      for (int i = 0; i < samplers.length; i++) samplers[i] = new Sampler(temperature, 5, 1.0, 17);
      int[][] batched = Generator.generate(lm, PROMPTS, max, samplers, null);
      for (int i = 0; i < PROMPTS.length; i++) {
        int[] alone = Generator.generate(lm, PROMPTS[i], max, new Sampler(temperature, 5, 1.0, 17), null, null);
        assertArrayEquals(alone, batched[i], fixture + " t=" + temperature + " sequence " + i);
      }
    }
    // The second sequence stops at its third token; the others run on to max.
    int[][] greedy = Generator.generate(lm, PROMPTS, max, greedy(), null);
    int[] stop = {greedy[1][2]};
    int[][] stopped = Generator.generate(lm, PROMPTS, max, greedy(), stop);
    for (int i = 0; i < PROMPTS.length; i++) {
      assertArrayEquals(Generator.generate(lm, PROMPTS[i], max, new Sampler(0, 0, 1, 0), stop, null), stopped[i],
          fixture + " with a stop token, sequence " + i);
    }
    for (int i = 0; i < PROMPTS.length; i++) assertArrayEquals(uncachedGreedy(lm, PROMPTS[i], max), greedy[i], fixture + " uncached " + i);
  }

  static Sampler[] greedy() {
    Sampler[] s = new Sampler[PROMPTS.length];
    Arrays.fill(s, new Sampler(0, 0, 1, 0));
    return s;
  }

  /** Greedy decoding that runs the whole sequence through the model for every new token. */
  static int[] uncachedGreedy(CausalLm lm, int[] prompt, int max) {
    int[] seq = prompt.clone();
    for (int n = 0; n < max; n++) {
      INDArray logits = lm.logits(new Batch(new int[][] {seq}, null, null, null, null));
      int next = Sampler.argmax(logits.getRow(seq.length - 1).toFloatVector());
      seq = Arrays.copyOf(seq, seq.length + 1);
      seq[seq.length - 1] = next;
    }
    return Arrays.copyOfRange(seq, prompt.length, seq.length);
  }
}
