package io.laketune.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.tokenizer.Tokenizer;
import io.laketune.tokenizer.TokenizerFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer metadata written for the real Llama 3, Qwen3 and GPT-2 tokenizers. */
class GgufVocabTest {
  @TempDir Path tmp;

  static Map<String, GgufValue> vocab(Path dir, int modelVocab) throws Exception {
    GgufWriter w = new GgufWriter("llama");
    GgufVocab.write(w, dir, modelVocab, "llama");
    return w.metadata();
  }

  static JsonNode tokenizerJson(Path dir) throws Exception {
    return new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
  }

  @Test
  void llama3IsByteLevelBpeWithTheLlamaBpePreTokenizer() throws Exception {
    Path dir = TokenizerFixtures.modelDir("llama3");
    Map<String, GgufValue> m = vocab(dir, 128256);
    assertEquals("gpt2", m.get("tokenizer.ggml.model").asString());
    assertEquals("llama-bpe", m.get("tokenizer.ggml.pre").asString());
    List<?> tokens = m.get("tokenizer.ggml.tokens").asList();
    List<?> types = m.get("tokenizer.ggml.token_type").asList();
    assertEquals(128256, tokens.size());
    assertEquals(tokenizerJson(dir).path("model").path("merges").size(), m.get("tokenizer.ggml.merges").asList().size());
    try (Tokenizer tok = Tokenizer.load(dir)) {
      int the = tok.tokenId("Ġthe").getAsInt();
      assertEquals("Ġthe", tokens.get(the));
      assertEquals(1L, types.get(the), "NORMAL");
      assertEquals("<|eot_id|>", tokens.get(128009));
      assertEquals(3L, types.get(128009), "CONTROL");
      assertEquals(128000L, m.get("tokenizer.ggml.bos_token_id").asLong());
      assertEquals(128001L, m.get("tokenizer.ggml.eos_token_id").asLong());
      // this tokenizer.json's post-processor adds nothing, so llama.cpp must not add BOS either
      assertEquals(tok.encode("Hi").length > tok.encode("Hi", false).length, m.get("tokenizer.ggml.add_bos_token").asBool());
      assertEquals(tok.chatTemplateSources().get("default"), m.get("tokenizer.chat_template").asString());
    }
    assertFalse(m.containsKey("tokenizer.ggml.scores"), "BPE vocabularies carry merges, not scores");
  }

  @Test
  void qwen3IsQwen2PreTokenizedAndPaddedToTheModelsVocabulary() throws Exception {
    Path dir = TokenizerFixtures.modelDir("qwen3");
    Map<String, GgufValue> m = vocab(dir, 151936);
    assertEquals("qwen2", m.get("tokenizer.ggml.pre").asString());
    List<?> tokens = m.get("tokenizer.ggml.tokens").asList();
    List<?> types = m.get("tokenizer.ggml.token_type").asList();
    assertEquals(151936, tokens.size());
    assertEquals("[PAD151935]", tokens.get(151935));
    assertEquals(5L, types.get(151935), "UNUSED");
    assertEquals("<|im_end|>", tokens.get(151645));
    assertEquals(3L, types.get(151645));
    int think = tokens.indexOf("<think>");
    assertEquals(4L, types.get(think), "an added token that is not special is USER_DEFINED");
    assertEquals(151645L, m.get("tokenizer.ggml.eos_token_id").asLong());
    assertEquals(151643L, m.get("tokenizer.ggml.padding_token_id").asLong());
    assertFalse(m.get("tokenizer.ggml.add_bos_token").asBool());
    // merges in the [left, right] list form become "left right"
    JsonNode first = tokenizerJson(dir).path("model").path("merges").get(0);
    assertEquals(first.get(0).asText() + " " + first.get(1).asText(), m.get("tokenizer.ggml.merges").asList().get(0));
  }

  @Test
  void gpt2AndRefusals() throws Exception {
    Path dir = TokenizerFixtures.modelDir("gpt2");
    Map<String, GgufValue> m = vocab(dir, 50257);
    assertEquals("gpt-2", m.get("tokenizer.ggml.pre").asString());
    assertEquals(50256L, m.get("tokenizer.ggml.eos_token_id").asLong());

    assertThrows(IllegalArgumentException.class, () -> vocab(dir, 50000), "a tokenizer larger than the model");

    Path odd = TokenizerFixtures.copyOf("gpt2", tmp.resolve("odd"));
    ObjectNode json = (ObjectNode) tokenizerJson(odd);
    json.putObject("pre_tokenizer").put("type", "Whitespace");
    Files.writeString(odd.resolve("tokenizer.json"), new ObjectMapper().writeValueAsString(json));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vocab(odd, 50257));
    assertTrue(e.getMessage().contains("not one laketune can name for llama.cpp"), e.getMessage());
  }

  @Test
  void sentencePieceStyleScoresFollowTheMergeOrder() throws Exception {
    // a SentencePiece-style BPE with byte fallback: 3 specials, 256 bytes, pieces made by merges
    Path dir = tmp.resolve("spm");
    java.util.List<String> pieces = new java.util.ArrayList<>();
    for (int b = 0; b < 256; b++) pieces.add(String.format("<0x%02X>", b));
    pieces.addAll(List.of("▁", "a", "b", "▁a", "ab", "▁ab"));
    SyntheticTokenizer.write(dir, pieces, List.of("▁ a", "a b", "▁a b"));
    Map<String, GgufValue> m = vocab(dir, 265);
    assertEquals("llama", m.get("tokenizer.ggml.model").asString());
    assertTrue(m.get("tokenizer.ggml.add_space_prefix").asBool());
    assertTrue(m.get("tokenizer.ggml.add_bos_token").asBool());
    List<?> scores = m.get("tokenizer.ggml.scores").asList();
    List<?> types = m.get("tokenizer.ggml.token_type").asList();
    assertEquals(2L, types.get(0), "<unk> is UNKNOWN");
    assertEquals(3L, types.get(1), "<s> is CONTROL");
    assertEquals(6L, types.get(3 + 0x41), "<0x41> is BYTE");
    assertEquals(-0f, (Float) scores.get(262), 0f, "▁a: made by merge 0");
    assertEquals(-1f, scores.get(263), "ab: merge 1");
    assertEquals(-2f, scores.get(264), "▁ab: merge 2, tried last");
  }
}
