package io.laketune.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.io.SafetensorsReader;
import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.model.HfModels.Options;
import io.laketune.checkpoint.HfCheckpointReader;
import io.laketune.nn.GradCheck;
import io.laketune.nn.Param;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** LoRA on whole models: identity at init, save/load, shared-base adapters, merge, gradients. */
class LoraModelTest {
  @TempDir Path tmp;

  static Batch batch(String fixture) throws Exception {
    try (SafetensorsReader g = SafetensorsReader.open(Fixtures.dir(fixture).resolve("golden.safetensors"))) {
      return Fixtures.batch(g);
    }
  }

  static double maxDiff(INDArray a, INDArray b) {
    return a.sub(b).amaxNumber().doubleValue();
  }

  static void randomiseB(LoraModel m, long seed) {
    Nd4j.getRandom().setSeed(seed);
    for (LoraTarget t : m.targets()) m.model().params().get(t.bName()).set(Nd4j.randn(DataType.FLOAT, m.model().params().get(t.bName()).shape()).muli(0.1));
  }

  @Test
  void freshAdapterIsTheIdentityAndPrintsTrainableParams() throws Exception {
    CausalLm base = HfModels.load(Fixtures.dir("llama"), Options.inference());
    LoraModel m = LoraModel.create(Fixtures.dir("llama"), LoraConfig.of(4, 8, List.of("q_proj", "v_proj")), DataType.FLOAT, 1);
    Batch b = batch("llama");
    assertEquals(0.0, maxDiff(base.logits(b), m.model().logits(b)), 0.0);
    assertEquals(2 * 2 * 2, m.targets().size() * 2, "q_proj and v_proj in 2 layers");
    long adapter = m.model().params().trainableCount();
    assertTrue(m.trainableSummary().startsWith(String.format("trainable params: %,d || all params: %,d", adapter,
        base.params().totalCount() + adapter)), m.trainableSummary());
    for (Param p : m.model().params().all().values()) {
      assertEquals(p.name().contains(".lora_"), p.trainable(), p.name());
    }
  }

  @Test
  void kaimingInitBoundsAndGaussianSpread() throws Exception {
    LoraModel k = LoraModel.create(Fixtures.dir("llama"), LoraConfig.of(4, 8, List.of("all-linear")), DataType.FLOAT, 2);
    for (LoraTarget t : k.targets()) {
      INDArray a = k.model().params().get(t.aName()).stored();
      double bound = 1 / Math.sqrt(t.module().inFeatures());
      assertTrue(a.amaxNumber().doubleValue() <= bound && a.amaxNumber().doubleValue() > 0.5 * bound, t.aName());
      assertEquals(0.0, k.model().params().get(t.bName()).stored().amaxNumber().doubleValue(), 0.0);
    }
    LoraModel g = LoraModel.create(Fixtures.dir("llama"), LoraConfig.of(4, 8, List.of("all-linear")).with(false, false, "gaussian"),
        DataType.FLOAT, 2);
    double sum2 = 0;
    long n = 0;
    for (LoraTarget t : g.targets()) {
      INDArray a = g.model().params().get(t.aName()).stored();
      sum2 += a.mul(a).sumNumber().doubleValue();
      n += a.length();
    }
    assertEquals(1.0 / 4, Math.sqrt(sum2 / n), 0.03, "gaussian init: std 1/r");
  }

  @Test
  void saveLoadAttachAndMergeAgree() throws Exception {
    LoraConfig cfg = LoraConfig.of(4, 8, List.of("q_proj", "v_proj", "down_proj")).with(false, true, "true").withBias("none");
    LoraModel m = LoraModel.create(Fixtures.dir("llama"), cfg, DataType.FLOAT, 3);
    randomiseB(m, 4);
    Batch b = batch("llama");
    INDArray logits = m.model().logits(b);

    Path dir = tmp.resolve("adapter");
    m.save(dir);
    try (SafetensorsReader r = SafetensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
      assertTrue(r.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
      assertTrue(r.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
      assertTrue(r.contains("base_model.model.model.layers.0.self_attn.v_proj.lora_magnitude_vector"));
    }
    LoraModel loaded = LoraModel.load(Fixtures.dir("llama"), dir, DataType.FLOAT);
    assertEquals(0.0, maxDiff(logits, loaded.model().logits(b)), 0.0);

    CausalLm base = HfModels.load(Fixtures.dir("llama"), Options.inference());
    AdapterSet set = new AdapterSet(base);
    set.add("mine", dir);
    assertEquals(0.0, maxDiff(logits, set.model("mine").logits(b)), 0.0);
    assertEquals(0.0, maxDiff(base.logits(b), set.model(null).logits(b)), 0.0, "the base stays untouched");

    CausalLm merged = m.mergedModel();
    assertTrue(maxDiff(logits, merged.logits(b)) < 1e-5, "merged model = adapter model");
    m.merge();
    assertTrue(maxDiff(logits, m.model().logits(b)) < 1e-5, "in-place merge");
    m.unmerge();
    assertTrue(maxDiff(logits, m.model().logits(b)) < 1e-5, "unmerge");
    Path export = tmp.resolve("merged");
    HfModels.save(merged, export, io.laketune.io.DType.F32, Long.MAX_VALUE, List.of());
    assertTrue(maxDiff(logits, HfModels.load(export, Options.inference()).logits(b)) < 1e-5, "merged export reloads");
  }

  @Test
  void gradientsOfAdaptersMatchFiniteDifferences() throws Exception {
    LoraConfig cfg = LoraConfig.of(2, 4, List.of("q_proj", "o_proj", "up_proj")).withBias("all")
        .withModulesToSave(List.of("lm_head"));
    LoraModel m;
    try (HfCheckpointReader ckpt = HfCheckpointReader.open(Fixtures.dir("llama_bias"))) {
      m = LoraModel.plan(HfModels.config(ckpt), cfg);
      m.build(DataType.DOUBLE, DataType.DOUBLE);
      HfModels.readWeights(ckpt, HfModels.config(ckpt), m.model().params());
    }
    randomiseB(m, 5);
    Batch b = batch("llama_bias");
    m.model().forwardBackward(b, 1.0);
    Random rnd = new Random(9);
    for (String name : m.trainableNames()) {
      Param p = m.model().params().get(name);
      GradCheck.check(name, p.stored(), p.grad(), () -> m.model().loss(b).sum(), 4, 1e-5, rnd);
    }
    assertTrue(m.trainableNames().contains("lm_head.weight"));
    assertTrue(m.trainableNames().contains("model.layers.0.mlp.down_proj.bias"), "bias=all trains every bias");
  }

  @Test
  void targetingErrorsAreClear() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LoraModel.create(Fixtures.dir("llama"), LoraConfig.of(4, 8, List.of("query")), DataType.FLOAT, 1));
    assertTrue(e.getMessage().contains("matched no module") && e.getMessage().contains("q_proj"), e.getMessage());
    IllegalArgumentException tied = assertThrows(IllegalArgumentException.class, () -> LoraModel.create(Fixtures.dir("llama3"),
        LoraConfig.of(4, 8, List.of("q_proj")).withModulesToSave(List.of("lm_head")), DataType.FLOAT, 1));
    assertTrue(tied.getMessage().contains("tied"), tied.getMessage());
  }

  @Test
  void regexPatternsAndLayerSelection() throws Exception {
    LoraConfig cfg = LoraConfig.of(4, 8, List.of("unused")).withTargetRegex(".*\\.(q_proj|o_proj)")
        .withPatterns(Map.of("o_proj", 2), Map.of("o_proj", 16.0));
    LoraModel m = LoraModel.plan(HfModels.load(Fixtures.dir("llama"), Options.inference()).config(), cfg);
    for (LoraTarget t : m.targets()) {
      boolean o = t.module().name().endsWith("o_proj");
      assertEquals(o ? 2 : 4, t.r(), t.module().name());
      assertEquals(o ? 8.0 : 2.0, t.scaling(), 1e-12, t.module().name());
    }
    assertEquals(4, m.targets().size());
  }

  @Test
  void peftConfigRoundTripsAndRejectsUnsupportedFeatures() throws Exception {
    LoraConfig cfg = LoraConfig.of(8, 16, List.of("q_proj", "v_proj")).with(true, true, "gaussian");
    LoraConfig back = LoraConfig.fromJson(cfg.toJson(), "test");
    assertEquals(cfg, back);
    var json = cfg.toJson();
    json.put("use_qalora", true);
    assertThrows(IllegalArgumentException.class, () -> LoraConfig.fromJson(json, "adapter_config.json"));
    var unknown = cfg.toJson();
    unknown.put("some_future_field", 3);
    assertEquals(cfg, LoraConfig.fromJson(unknown, "adapter_config.json"), "unknown keys are ignored");
    Files.createDirectories(tmp.resolve("empty"));
    assertThrows(java.nio.file.NoSuchFileException.class, () -> PeftAdapterFiles.readConfig(tmp.resolve("empty")));
  }
}
