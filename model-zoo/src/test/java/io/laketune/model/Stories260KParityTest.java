package io.laketune.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.io.SafetensorsReader;
import io.laketune.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The real pretrained stories260K model: laketune on its Hugging Face directory reproduces what
 * llama2.c's own algorithm gives on the original {@code .bin} and {@code tok512.bin}
 * ({@code make_llama2c_fixtures.py}, a numpy re-statement of run.c's forward and BPE encode):
 * the prompt ids, 48 greedy tokens per prompt by KV-cache decoding and from the full forward, the
 * decoded text; for the prompts whose logits the fixture holds, greedy decoding that recomputes the
 * whole sequence each step, and the logits at every position with and without the cache.
 */
class Stories260KParityTest {
  /** float32 forward vs the float64 reference: the script measures its own float32 pass within 1.0e-5. */
  static final double LOGIT_TOL = 1e-4;

  static Path hf;
  static JsonNode golden;
  static CausalLm model;
  static Tokenizer tok;
  static final Sampler GREEDY = new Sampler(0, 0, 1.0, 0);

  /** Per test, so that a missing model reports every test as skipped with the reason (not an empty class). */
  @BeforeEach
  void load() throws Exception {
    hf = SharedModels.stories260KHf();
    if (model != null) return;
    golden = new ObjectMapper().readTree(Fixtures.file("stories260k/greedy.json").toFile());
    model = HfModels.load(hf, HfModels.Options.inference());
    tok = Tokenizer.load(hf);
  }

  @AfterAll
  static void close() {
    if (tok != null) tok.close();
  }

  static int[] ints(JsonNode array) {
    return IntStream.range(0, array.size()).map(i -> array.get(i).asInt()).toArray();
  }

  static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void theHfTokenizerGivesRunCsEncodeIds() {
    for (JsonNode c : golden.get("cases")) {
      assertArrayEquals(ints(c.get("prompt_ids")), tok.encode(c.get("prompt").asText()), "ids of " + c.get("prompt"));
    }
    for (JsonNode c : golden.get("encode_only")) {
      assertArrayEquals(ints(c.get("ids")), tok.encode(c.get("text").asText()), "ids of " + c.get("text"));
    }
  }

  @Test
  void greedyGenerationEqualsLlama2c() {
    assertTrue(golden.get("cases").size() >= 4, "several prompts");
    for (JsonNode c : golden.get("cases")) {
      String prompt = c.get("prompt").asText();
      int[] ids = tok.encode(prompt);
      int[] want = ints(c.get("generated_ids"));
      assertTrue(want.length >= 30, prompt + ": at least 30 tokens");

      // run.c stops when BOS comes out (then the last id is 1); laketune stops on EOS, so it is asked for as many
      int[] cached = Generator.generate(model, ids, want.length, GREEDY, null, null);
      assertArrayEquals(want, cached, prompt + ": KV-cache greedy decoding");

      // without a cache: one causal forward over the whole sequence holds every full-recompute step's last logits
      int[] all = concat(ids, want);
      INDArray logits = model.logits(Batch.of(new int[][] {all}, null));
      int[] recomputed = new int[want.length];
      for (int n = 0; n < want.length; n++) recomputed[n] = Sampler.argmax(logits.getRow(ids.length - 1 + n).toFloatVector());
      assertArrayEquals(want, recomputed, prompt + ": argmax of the full forward at every generated position");

      // run.c prints the prompt's pieces and then the generated ones, as the HF decoder writes the whole sequence
      assertEquals(c.get("text").asText(), tok.decode(all, true), prompt + ": decoded text");
    }
  }

  /** Greedy decoding that recomputes the whole sequence for every new token (no KV cache). */
  static int[] generateByFullRecompute(int[] prompt, int n) {
    int[] seq = prompt;
    for (int i = 0; i < n; i++) {
      INDArray logits = model.logits(Batch.of(new int[][] {seq}, null));
      seq = concat(seq, new int[] {Sampler.argmax(logits.getRow(seq.length - 1).toFloatVector())});
    }
    return Arrays.copyOfRange(seq, prompt.length, seq.length);
  }

  @Test
  void fullRecomputeAndLogitsAtEveryPositionEqualLlama2c() throws Exception {
    try (SafetensorsReader logits = SafetensorsReader.open(Fixtures.file("stories260k/greedy_logits.safetensors"))) {
      int checked = 0;
      for (int n = 0; n < golden.get("cases").size(); n++) {
        if (!logits.contains("logits." + n)) continue;
        JsonNode c = golden.get("cases").get(n);
        int[] prompt = ints(c.get("prompt_ids")), generated = ints(c.get("generated_ids"));
        assertArrayEquals(generated, generateByFullRecompute(prompt, generated.length),
            c.get("prompt") + ": greedy decoding by full recompute");
        int[] all = concat(prompt, generated);
        int[] fed = Arrays.copyOf(all, all.length - 1); // run.c's forward ran on every token but the last produced
        INDArray want = logits.read("logits." + n, DataType.FLOAT);
        assertArrayEquals(new long[] {fed.length, model.config().vocabSize()}, want.shape());

        INDArray full = model.logits(Batch.of(new int[][] {fed}, null));
        double fullErr = full.sub(want).amaxNumber().doubleValue();
        assertTrue(fullErr <= LOGIT_TOL, c.get("prompt") + ": full-forward logits differ by " + fullErr);

        KvCache cache = model.newCache(fed.length);
        double cachedErr = 0;
        for (int t = 0; t < fed.length; t++) {
          INDArray row = model.decode(new int[] {fed[t]}, cache);
          cachedErr = Math.max(cachedErr, row.reshape(-1).sub(want.getRow(t)).amaxNumber().doubleValue());
        }
        assertTrue(cachedErr <= LOGIT_TOL, c.get("prompt") + ": KV-cache logits differ by " + cachedErr);
        System.out.printf("stories260K %s: logits within %.1e (full forward), %.1e (KV cache) of llama2.c%n",
            c.get("prompt"), fullErr, cachedErr);
        checked++;
      }
      assertTrue(checked >= 1, "the fixture holds logits for at least one prompt");
    }
  }
}
