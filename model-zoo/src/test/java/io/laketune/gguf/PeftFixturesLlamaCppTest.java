package io.laketune.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.peft.LoraModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * PEFT-written adapters (make_peft_fixtures.py) as GGUF adapters in llama.cpp, over their base's
 * GGUF: GPT-2's Conv1D adapter (fan_in_fan_out), rsLoRA, and regex targets with rank and alpha
 * patterns. llama.cpp's greedy tokens must equal laketune's merged model's (itself checked against
 * PEFT in PeftParityTest). The fixture models get a synthetic 128-token vocabulary; prompts are ids.
 */
@Tag("integration")
class PeftFixturesLlamaCppTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @CsvSource({"gpt2, gpt2", "rslora, llama", "patterns, llama"})
  void peftAdapterAppliedByLlamaCppEqualsLaketunesMergedModel(String adapter, String base) throws Exception {
    LlamaCpp llama = LlamaCpp.require();
    // llama.cpp cannot run a GGUF without a vocabulary: give the base a 128-token one
    Path baseDir = tmp.resolve(base), adapterDir = Fixtures.dir("peft/" + adapter);
    Files.createDirectories(baseDir);
    for (String f : new String[] {"config.json", "model.safetensors"}) Files.copy(Fixtures.dir(base).resolve(f), baseDir.resolve(f));
    SyntheticTokenizer.writeByteLevel128(baseDir);
    LoraModel lora = LoraModel.load(baseDir, adapterDir, DataType.FLOAT);
    CausalLm merged = lora.mergedModel();
    int[] prompt = {3, 17, 42, 5, 99, 7};
    int[] want = Generator.generate(merged, prompt, 20, new Sampler(0, 0, 1, 0), null, null);
    int[] baseTokens = Generator.generate(HfModels.load(baseDir, HfModels.Options.inference()), prompt, 20,
        new Sampler(0, 0, 1, 0), null, null);
    assertFalse(java.util.Arrays.equals(want, baseTokens), adapter + ": the adapter changes the greedy continuation");

    Path baseGguf = tmp.resolve(base + ".gguf"), adapterGguf = tmp.resolve(adapter + "-lora.gguf"), mergedGguf = tmp.resolve(adapter + "-merged.gguf");
    GgufExport.model(HfModels.load(baseDir, HfModels.Options.inference()), baseDir, base, GgufDtype.F32, baseGguf);
    GgufLoraExport.adapter(lora.baseConfig(), adapterDir, adapter, GgufDtype.F32, adapterGguf);
    GgufExport.model(merged, baseDir, adapter, GgufDtype.F32, mergedGguf);
    assertArrayEquals(want, llama.run(new LlamaCpp.Request(mergedGguf).generate(prompt, 20)).generated().get(0), adapter + " merged");
    assertArrayEquals(want, llama.run(new LlamaCpp.Request(baseGguf).lora(adapterGguf, 1.0).generate(prompt, 20)).generated().get(0),
        adapter + " base + --lora");
  }
}
