package io.laketune.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.SafetensorsReader;
import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.Loss;
import io.laketune.nn.Param;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * PEFT-written adapters (make_peft_fixtures.py, mirroring PEFT 0.20) load unchanged and give PEFT's
 * logits, loss, gradients of every trainable tensor, merged weights and merged logits.
 */
class PeftParityTest {

  static String baseOf(Path adapter) throws Exception {
    String b = new ObjectMapper().readTree(adapter.resolve("adapter_config.json").toFile()).get("base_model_name_or_path").asText();
    return Path.of(b).getFileName().toString();
  }

  static double rel(INDArray got, INDArray want) {
    return got.sub(want).norm2Number().doubleValue() / Math.max(1e-30, want.norm2Number().doubleValue());
  }

  @ParameterizedTest
  @ValueSource(strings = {"lora", "rslora", "dora", "dora_bias", "modules_to_save", "patterns", "bias_all",
      "bias_lora_only", "gpt2", "zero_b"})
  void matchesPeft(String name) throws Exception {
    Path adapter = Fixtures.dir("peft/" + name);
    LoraModel m = LoraModel.load(Fixtures.dir(baseOf(adapter)), adapter, DataType.FLOAT);
    try (SafetensorsReader g = SafetensorsReader.open(adapter.resolve("golden.safetensors"))) {
      Batch batch = Fixtures.batch(g);
      INDArray want = g.read("logits", DataType.FLOAT);
      INDArray logits = m.model().logits(batch).reshape(want.shape());
      assertTrue(logits.sub(want).amaxNumber().doubleValue() <= 1e-4, name + ": logits");

      Loss first = m.model().loss(batch);
      m.model().params().zeroGrads();
      Loss loss = m.model().forwardBackward(batch, 1.0 / first.count());
      double expected = g.read("loss", DataType.DOUBLE).getDouble(0);
      assertEquals(expected, loss.mean(), 1e-5 * Math.abs(expected), name + ": loss");
      for (String p : m.trainableNames()) {
        String key = "grad." + PeftAdapterFiles.fileKey(m, p);
        assertTrue(g.contains(key), name + ": golden has no " + key);
        double r = rel(m.model().params().get(p).grad(), g.read(key, DataType.FLOAT));
        assertTrue(r <= 1e-4, name + ": gradient of " + p + " differs, relative " + r);
      }

      CausalLm merged = m.mergedModel();
      for (var t : g.tensors()) {
        if (!t.name().startsWith("merged.")) continue;
        String hf = t.name().substring("merged.".length());
        double r = rel(merged.params().get(hf).value(), g.read(t.name(), DataType.FLOAT));
        assertTrue(r <= 1e-5, name + ": merged " + hf + " relative " + r);
      }
      INDArray mergedWant = g.read("merged_logits", DataType.FLOAT);
      assertTrue(merged.logits(batch).reshape(mergedWant.shape()).sub(mergedWant).amaxNumber().doubleValue() <= 1e-4,
          name + ": merged logits");
    }
  }

  @Test
  void zeroBAdapterEqualsTheBase() throws Exception {
    Path adapter = Fixtures.dir("peft/zero_b");
    LoraModel m = LoraModel.load(Fixtures.dir("llama"), adapter, DataType.FLOAT);
    try (SafetensorsReader base = SafetensorsReader.open(Fixtures.dir("llama").resolve("golden.safetensors"))) {
      INDArray want = base.read("logits", DataType.FLOAT);
      assertTrue(m.model().logits(Fixtures.batch(base)).reshape(want.shape()).sub(want).amaxNumber().doubleValue() <= 1e-4);
    }
  }

  @Test
  void pissaInitialisationMatchesPeft() throws Exception {
    Path adapter = Fixtures.dir("peft/pissa");
    LoraConfig cfg = PeftAdapterFiles.readConfig(adapter);
    LoraModel mine = LoraModel.create(Fixtures.dir("llama"), cfg, DataType.FLOAT, 0);
    LoraModel peft = LoraModel.load(Fixtures.dir("llama"), adapter, DataType.FLOAT);
    try (SafetensorsReader g = SafetensorsReader.open(adapter.resolve("golden.safetensors"))) {
      for (LoraTarget t : mine.targets()) {
        // singular vectors have arbitrary signs: compare B A, which does not
        INDArray ba = mine.model().params().get(t.bName()).value().mmul(mine.model().params().get(t.aName()).value());
        INDArray want = peft.model().params().get(t.bName()).value().mmul(peft.model().params().get(t.aName()).value());
        assertTrue(rel(ba, want) < 1e-4, t.module().name() + " B A");
        String w = t.module().name() + ".weight";
        assertTrue(rel(mine.model().params().get(w).value(), g.read("residual." + w, DataType.FLOAT)) < 1e-5, w + " residual");
      }
      INDArray want = g.read("logits", DataType.FLOAT);
      assertTrue(mine.model().logits(Fixtures.batch(g)).reshape(want.shape()).sub(want).amaxNumber().doubleValue() <= 1e-4);
    }
  }
}
