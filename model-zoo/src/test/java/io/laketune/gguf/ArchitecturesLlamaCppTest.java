package io.laketune.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.SharedModels;
import io.laketune.tokenizer.Tokenizer;
import io.laketune.tokenizer.TokenizerFixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every architecture the exporter writes, on random-weight models over real tokenizer files, run
 * by the real llama.cpp: its tokenizer must give laketune's ids for varied texts (Llama 3 and Qwen3
 * byte-level BPE, GPT-2, a SentencePiece-style vocabulary), its metadata must carry the chat
 * template and BOS behaviour, and its f32 greedy generation must equal laketune's (which exercises
 * the llama3 rope_freqs, linear RoPE scaling, the q/k row order with biases, Qwen2's biases, GQA
 * with one key/value head, GPT-2's transposed Conv1D weights).
 */
@Tag("integration")
class ArchitecturesLlamaCppTest {
  @TempDir Path tmp;

  static final List<String> COMMON_TEXTS = List.of(
      "Hello world", " leading space", "trailing space ", "  multiple   spaces  here  ", "tabs\tand\nnewlines\r\n",
      "\n\n\nblank lines\n\n", "1234567890 3.14159 1,000,000 2026-12-01", "It's don't you'll I'VE they'RE",
      "café naïve résumé Ångström", "Привет, мир!", "日本語のテキストと中文", "한국어 문장", "emoji 🙂🚀👍🏽 ✅",
      "def f(x):\n    return x ** 2  # square\n", "{\"json\": [1, 2.5, null], \"k\": \"v\"}",
      "<html><body class=\"x\">hi &amp; bye</body></html>", "a.b,c;d:e!f?g(h)[i]{j}", "$100 & 50% off!!! #hashtag @user",
      "x", "",
      // the text llama.cpp's converter hashes to recognise pre-tokenizers
      "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333"
          + " 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на"
          + " Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make"
          + " it, 'D you like some tea? We'Ve a'lL");

  /** Exports, runs llama.cpp, and compares tokenization, BOS, chat template and greedy generation. */
  void check(Path modelDir, String arch, String tokenizerModel, String pre, List<String> extraTexts, String[] prompts)
      throws Exception {
    LlamaCpp llama = LlamaCpp.require();
    CausalLm model = HfModels.load(modelDir, HfModels.Options.inference());
    Path gguf = tmp.resolve(arch + ".gguf");
    GgufExport.model(model, modelDir, arch, GgufDtype.F32, gguf);
    List<String> texts = new ArrayList<>(COMMON_TEXTS);
    texts.addAll(extraTexts);
    try (Tokenizer tok = Tokenizer.load(modelDir)) {
      LlamaCpp.Request r = new LlamaCpp.Request(gguf).contextSize(2048);
      texts.forEach(r::tokenize);
      List<int[]> want = new ArrayList<>();
      for (String p : prompts) {
        int[] ids = tok.encode(p);
        r.generate(ids, 24);
        want.add(Generator.generate(model, ids, 24, new Sampler(0, 0, 1, 0), null, null));
      }
      LlamaCpp.Result res = llama.run(r);
      assertEquals(arch, res.json().path("metadata").path("architecture").asText());
      assertEquals(tokenizerModel, res.json().path("metadata").path("tokenizerModel").asText());
      assertEquals(pre, res.json().path("metadata").path("tokenizerPre").asText());
      int mismatches = 0;
      StringBuilder report = new StringBuilder();
      for (int i = 0; i < texts.size(); i++) {
        int[] expected = tok.encode(texts.get(i), false);
        int[] got = res.tokenized().get(i);
        if (!java.util.Arrays.equals(expected, got)) {
          mismatches++;
          report.append("\n  '").append(texts.get(i).replace("\n", "\\n")).append("': laketune ")
              .append(java.util.Arrays.toString(expected)).append(" llama.cpp ").append(java.util.Arrays.toString(got));
        }
      }
      assertEquals(0, mismatches, arch + ": llama.cpp's ids differ from laketune's for" + report);
      boolean laketuneAddsBos = tok.encode("Hi").length > tok.encode("Hi", false).length;
      assertEquals(laketuneAddsBos, res.addsBos(), arch + ": add_bos_token");
      String template = tok.chatTemplateSources().get("default");
      if (template != null) assertEquals(template, res.json().path("metadata").path("chatTemplate").asText(), "chat template");
      for (int i = 0; i < prompts.length; i++) {
        assertArrayEquals(want.get(i), res.generated().get(i), arch + ": greedy continuation of '" + prompts[i] + "'");
      }
      System.out.println(arch + " (" + tokenizerModel + "/" + pre + "): " + texts.size() + " texts tokenized as laketune does, "
          + prompts.length + " x 24 greedy tokens identical, add_bos " + res.addsBos()
          + (template != null ? ", chat template carried (" + template.length() + " chars)" : ""));
    }
  }

  /**
   * About 700 tokens: RoPE scaling only moves the low frequencies, whose angles are still tiny at
   * short positions, so only a long prompt tells a wrong rope_freqs apart.
   */
  static String longPrompt() {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 2; i++) COMMON_TEXTS.forEach(t -> s.append(t).append(' '));
    return s.toString();
  }

  @Test
  void llama3TokenizerAndLlama3RopeScaling() throws Exception {
    LlamaCpp.require();
    Path dir = RandomModels.write(tmp.resolve("llama3"), RandomModels.LLAMA3, TokenizerFixtures.modelDir("llama3"), 1);
    check(dir, "llama", "gpt2", "llama-bpe", List.of("<|begin_of_text|>Hi<|eot_id|>",
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        "<|reserved_special_token_5|> reserved"), new String[] {"The quick brown fox", "<|begin_of_text|>Once upon a time",
            longPrompt()});
  }

  @Test
  void qwen3TokenizerOnTheQwen2Architecture() throws Exception {
    LlamaCpp.require();
    Path dir = RandomModels.write(tmp.resolve("qwen"), RandomModels.QWEN2, TokenizerFixtures.modelDir("qwen3"), 2);
    check(dir, "qwen2", "gpt2", "qwen2", List.of("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n",
        "<think>\nreasoning here\n</think>\n\nanswer", "<tool_call>{\"name\": \"f\"}</tool_call>", "digits 0123456789"),
        new String[] {"The quick brown fox", "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"});
  }

  @Test
  void gpt2() throws Exception {
    LlamaCpp.require();
    Path dir = RandomModels.write(tmp.resolve("gpt2"), RandomModels.GPT2, TokenizerFixtures.modelDir("gpt2"), 3);
    check(dir, "gpt2", "gpt2", "gpt-2", List.of("<|endoftext|>next document"), new String[] {"The quick brown fox"});
  }

  @Test
  void mistralWithASentencePieceVocabulary() throws Exception {
    LlamaCpp.require();
    Path dir = RandomModels.write(tmp.resolve("mistral"), RandomModels.MISTRAL, SharedModels.stories260KHf(), 4);
    check(dir, "llama", "llama", "default", List.of("<s>Hi</s>"), new String[] {"Once upon a time", "The little dog"});
  }
}
