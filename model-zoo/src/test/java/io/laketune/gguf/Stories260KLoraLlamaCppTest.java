package io.laketune.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.model.SharedModels;
import io.laketune.optim.AdamW;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import io.laketune.peft.LoraTarget;
import io.laketune.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A LoRA fine-tuned stories260K in llama.cpp, two ways: the merged model exported as GGUF, and the
 * base GGUF with the adapter GGUF applied by llama.cpp's LoRA support. Both must continue prompts
 * exactly as laketune's merged model does (greedy, f32), and differently from the base.
 */
@Tag("integration")
class Stories260KLoraLlamaCppTest {
  /** What the adapter learns: a story the base model would not tell. */
  static final String STORY = "Once upon a time, there was a robot named Beep. Beep liked to sing to the moon."
      + " One day, Beep saw a big red ball in the sky.";
  static final String[] PROMPTS = {"Once upon a time", "One day, Beep", "The little dog"};
  static final int NEW_TOKENS = 32;

  @TempDir static Path tmp;
  static Path hf;
  static Tokenizer tokenizer;
  static CausalLm base;
  static Path baseGguf;

  @BeforeAll
  static void setUp() throws Exception {
    hf = SharedModels.stories260KHf();
    tokenizer = Tokenizer.load(hf);
    base = HfModels.load(hf, HfModels.Options.inference());
    baseGguf = tmp.resolve("base.gguf");
    GgufExport.model(base, hf, "stories260K", GgufDtype.F32, baseGguf);
  }

  /** LoRA r=8 on every linear module, 40 AdamW steps on STORY (dropout 0, lr 1e-2). */
  static LoraModel train(LoraConfig config) throws Exception {
    LoraModel lora = LoraModel.create(hf, config, DataType.FLOAT, 7);
    CausalLm m = lora.model();
    int[] ids = tokenizer.encode(STORY);
    Batch batch = Batch.of(new int[][] {ids}, new int[][] {ids});
    AdamW opt = new AdamW(m.params().flatValues(), new AdamW.Hyper(0.9, 0.999, 1e-8, 0.0));
    for (int step = 0; step < 40; step++) {
      m.params().zeroGrads();
      m.forwardBackward(batch, 1.0 / (ids.length - 1));
      opt.step(m.params().flatValues(), m.params().flatGrads(), 1e-2);
    }
    return lora;
  }

  static List<int[]> greedy(CausalLm m) {
    List<int[]> out = new ArrayList<>();
    for (String p : PROMPTS) out.add(Generator.generate(m, tokenizer.encode(p), NEW_TOKENS, new Sampler(0, 0, 1, 0), null, null));
    return out;
  }

  static LlamaCpp.Request generate(Path gguf) {
    LlamaCpp.Request r = new LlamaCpp.Request(gguf);
    for (String p : PROMPTS) r.generate(tokenizer.encode(p), NEW_TOKENS);
    return r;
  }

  static void assertSame(List<int[]> want, List<int[]> got, String how) {
    for (int i = 0; i < PROMPTS.length; i++) {
      assertArrayEquals(want.get(i), got.get(i), how + ", '" + PROMPTS[i] + "': laketune merged "
          + tokenizer.decode(want.get(i), false) + " | llama.cpp " + tokenizer.decode(got.get(i), false));
    }
  }

  /** Checks an adapter both ways in llama.cpp against laketune's merged model. */
  static void checkBothWays(LoraModel lora, String label) throws Exception {
    LlamaCpp llama = LlamaCpp.require();
    Path adapterDir = tmp.resolve(label + "-adapter");
    lora.save(adapterDir);
    CausalLm merged = lora.mergedModel();
    List<int[]> want = greedy(merged);
    List<int[]> baseTokens = greedy(base);
    boolean changed = false;
    for (int i = 0; i < PROMPTS.length; i++) changed |= !Arrays.equals(want.get(i), baseTokens.get(i));
    assertTrue(changed, label + ": the adapter changes some greedy continuation");

    Path mergedGguf = tmp.resolve(label + "-merged.gguf");
    GgufExport.model(merged, hf, "stories260K-" + label, GgufDtype.F32, mergedGguf);
    assertSame(want, llama.run(generate(mergedGguf)).generated(), label + " merged GGUF");

    Path adapterGguf = tmp.resolve(label + "-lora.gguf");
    ModelConfig cfg = base.config();
    GgufLoraExport.adapter(cfg, adapterDir, label, GgufDtype.F32, adapterGguf);
    assertSame(want, llama.run(generate(baseGguf).lora(adapterGguf, 1.0)).generated(), label + " base GGUF + --lora adapter GGUF");
    List<String> texts = new ArrayList<>();
    for (int[] w : want) texts.add(tokenizer.decode(w, false));
    System.out.println("stories260K + " + label + " LoRA: merged GGUF and base GGUF + adapter GGUF give laketune's "
        + NEW_TOKENS + " greedy tokens for " + PROMPTS.length + " prompts; e.g. '" + PROMPTS[0] + "' ->" + texts.get(0));
  }

  @Test
  void trainedAdapterMergedAndAsLoraGiveLaketunesContinuation() throws Exception {
    LlamaCpp.require();
    LoraModel lora = train(LoraConfig.of(8, 16, List.of(LoraConfig.ALL_LINEAR)));
    checkBothWays(lora, "trained");
  }

  @Test
  void rsLoraAndPerModuleScalingAreFoldedIntoTheAdapter() throws Exception {
    LlamaCpp.require();
    // rsLoRA scales by alpha / sqrt(r) and alpha_pattern overrides alpha for k_proj: llama.cpp only
    // knows one alpha / r, so the exporter folds the difference into lora_b.
    LoraConfig config = LoraConfig.of(4, 8, List.of("q_proj", "k_proj", "v_proj", "o_proj", "down_proj"))
        .with(true, false, "true").withPatterns(Map.of("k_proj", 2), Map.of("k_proj", 24.0));
    LoraModel lora = LoraModel.create(hf, config, DataType.FLOAT, 11);
    Nd4j.getRandom().setSeed(5);
    for (LoraTarget t : lora.targets()) {
      var b = lora.model().params().get(t.bName());
      b.set(Nd4j.randn(DataType.FLOAT, b.shape()).muli(0.15));
    }
    assertFalse(lora.targets().stream().allMatch(t -> t.scaling() == t.alpha() / t.r()), "scalings differ from alpha / r");
    checkBothWays(lora, "rslora-patterns");
  }
}
