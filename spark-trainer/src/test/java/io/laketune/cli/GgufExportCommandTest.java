package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.gguf.GgufFile;
import io.laketune.gguf.LlamaCpp;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.SharedModels;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import io.laketune.peft.LoraTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** {@code laketune export --format gguf | gguf-lora} as a user runs it, checked by llama.cpp. */
class GgufExportCommandTest {
  @TempDir Path tmp;

  static EvalCommandTest.Run ok(EvalCommandTest.Run r) {
    assertEquals(0, r.code(), r.err());
    return r;
  }

  static void fails(String expected, String... args) {
    EvalCommandTest.Run r = EvalCommandTest.cli(args);
    assertEquals(1, r.code(), r.out());
    assertTrue(r.err().contains(expected), r.err());
  }

  @Test
  @Tag("integration")
  void mergedAndAdapterGgufsFromTheCliRunInLlamaCpp() throws Exception {
    LlamaCpp llama = LlamaCpp.require();
    Path hf = SharedModels.stories260KHf();
    LoraModel lora = LoraModel.create(hf, LoraConfig.of(4, 8, List.of("q_proj", "k_proj", "v_proj", "up_proj")), DataType.FLOAT, 3);
    Nd4j.getRandom().setSeed(3);
    for (LoraTarget t : lora.targets()) {
      var b = lora.model().params().get(t.bName());
      b.set(Nd4j.randn(DataType.FLOAT, b.shape()).muli(0.1));
    }
    Path adapter = tmp.resolve("adapter");
    lora.save(adapter);

    Path base = tmp.resolve("base.gguf"), merged = tmp.resolve("merged.gguf"), lo = tmp.resolve("lora.gguf");
    String out = ok(EvalCommandTest.cli("export", "--format", "gguf", "--model", hf.toString(), "--output", base.toString())).out();
    assertTrue(out.contains("wrote " + base) && out.contains("47 tensors"), out);
    ok(EvalCommandTest.cli("export", "--format", "gguf", "--model", hf.toString(), "--adapter", adapter.toString(), "--merge",
        "--output", merged.toString()));
    Path q8 = tmp.resolve("q8.gguf");
    ok(EvalCommandTest.cli("export", "--format", "gguf", "--model", hf.toString(), "--dtype", "q8_0", "--output", q8.toString()));
    assertEquals(7, GgufFile.read(q8).require("general.file_type").asLong(), "MOSTLY_Q8_0");
    out = ok(EvalCommandTest.cli("export", "--format", "gguf-lora", "--model", hf.toString(), "--adapter", adapter.toString(),
        "--output", lo.toString())).out();
    assertTrue(out.contains("LoRA adapter") && out.contains("40 tensors"), out);  // 4 modules x 5 layers x (lora_a, lora_b)
    assertEquals("adapter", GgufFile.read(lo).require("general.type").asString());

    CausalLm mergedModel = lora.mergedModel();
    int[] prompt = {1, 403, 407, 261, 378};
    int[] want = Generator.generate(mergedModel, prompt, 30, new Sampler(0, 0, 1, 0), null, null);
    assertArrayEquals(want, llama.run(new LlamaCpp.Request(merged).generate(prompt, 30)).generated().get(0), "merged GGUF");
    assertArrayEquals(want, llama.run(new LlamaCpp.Request(base).lora(lo, 1.0).generate(prompt, 30)).generated().get(0),
        "base GGUF + adapter GGUF");
  }

  @Test
  void mistakesAreOneSentenceNamingTheFix() throws Exception {
    String model = Fixtures.dir("llama").toString();
    Path adapter = Fixtures.dir("peft/lora");
    String out = tmp.resolve("x.gguf").toString();
    fails("--format must be hf, gguf or gguf-lora", "export", "--format", "onnx", "--model", model, "--output", out);
    fails("--format gguf with --adapter needs --merge", "export", "--format", "gguf", "--model", model, "--adapter",
        adapter.toString(), "--output", out);
    fails("--format gguf-lora needs --adapter", "export", "--format", "gguf-lora", "--model", model, "--output", out);
    fails("--dtype for GGUF must be f32, f16, bf16 or q8_0", "export", "--format", "gguf", "--model", model, "--dtype", "q4_0",
        "--output", out);
    fails("must be a file name ending in .gguf", "export", "--format", "gguf", "--model", model, "--output", tmp.resolve("x.bin").toString());
    fails("--format hf needs --adapter DIR --merge", "export", "--model", model, "--output", tmp.resolve("hf").toString());
    Files.writeString(tmp.resolve("exists.gguf"), "");
    fails("already exists", "export", "--format", "gguf", "--model", model, "--output", tmp.resolve("exists.gguf").toString());
    // DoRA has no llama.cpp form: the refusal names it and points at the merged export
    fails("DoRA (use_dora = true), which a llama.cpp LoRA adapter cannot hold; export the merged model instead", "export",
        "--format", "gguf-lora", "--model", Fixtures.dir("llama").toString(), "--adapter", Fixtures.dir("peft/dora").toString(),
        "--output", out);
    fails("has no tokenizer.json, and llama.cpp needs the vocabulary inside the GGUF", "export", "--format", "gguf", "--model",
        model, "--output", out);
  }
}
