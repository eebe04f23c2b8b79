package io.laketune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading, special tokens, side files, fingerprints, offsets and errors of {@link Tokenizer}. */
class TokenizerTest {

  @TempDir Path tmp;

  @Test
  void llama3SpecialTokens() throws IOException {
    try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir("llama3"))) {
      assertEquals(128256, t.vocabSize());
      assertEquals(OptionalInt.of(128000), t.bosId());
      assertArrayEquals(new int[] {128001}, t.eosIds());
      assertEquals(OptionalInt.empty(), t.padId());
      assertEquals(OptionalInt.of(128009), t.tokenId("<|eot_id|>"));
      assertEquals(OptionalInt.of(1820), t.tokenId("the"));
      assertEquals(OptionalInt.empty(), t.tokenId("no such token"));
      assertEquals(Optional.empty(), t.addBosToken());
      assertTrue(t.chatTemplate().isPresent());
    }
  }

  @Test
  void qwen3SpecialTokens() throws IOException {
    try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir("qwen3"))) {
      assertEquals(151669, t.vocabSize());
      assertEquals(OptionalInt.empty(), t.bosId());
      assertArrayEquals(new int[] {151645}, t.eosIds());
      assertEquals(OptionalInt.of(151643), t.padId());
      assertEquals(Optional.of(false), t.addBosToken());
      assertEquals(Optional.of("<|im_end|>"), t.specialToken("eos_token"));
    }
  }

  @Test
  void gpt2ReadsAddedTokenObjectsAndHasNoChatTemplate() throws IOException {
    try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir("gpt2"))) {
      assertEquals(50257, t.vocabSize());
      assertEquals(OptionalInt.of(50256), t.bosId());
      assertArrayEquals(new int[] {50256}, t.eosIds());
      assertEquals(Optional.empty(), t.chatTemplate());
    }
  }

  @Test
  void eosIdsAddGenerationConfig() throws IOException {
    Path dir = TokenizerFixtures.copyOf("llama3", tmp.resolve("m"));
    Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [128001, 128009]}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertArrayEquals(new int[] {128001, 128009}, t.eosIds());
    }
    Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": 128009}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertArrayEquals(new int[] {128001, 128009}, t.eosIds());
    }
  }

  @Test
  void specialTokensMapOverridesTokenizerConfig() throws IOException {
    Path dir = TokenizerFixtures.copyOf("llama3", tmp.resolve("m"));
    Files.writeString(
        dir.resolve("special_tokens_map.json"),
        "{\"eos_token\": {\"content\": \"<|eot_id|>\", \"lstrip\": false}, \"pad_token\": \"<|eot_id|>\"}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertArrayEquals(new int[] {128009}, t.eosIds());
      assertEquals(OptionalInt.of(128009), t.padId());
      assertEquals(OptionalInt.of(128000), t.bosId());
    }
  }

  @Test
  void namedChatTemplatesAndChatTemplateJinja() throws IOException {
    Path dir = TokenizerFixtures.copyOf("gpt2", tmp.resolve("m"));
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        "{\"eos_token\": \"<|endoftext|>\", \"chat_template\": ["
            + "{\"name\": \"default\", \"template\": \"D{{ eos_token }}\"},"
            + "{\"name\": \"tool_use\", \"template\": \"T\"}]}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertEquals("D<|endoftext|>", t.chatTemplate().orElseThrow().render(List.of(), false));
      assertEquals("T", t.chatTemplate("tool_use").orElseThrow().render(List.of(), false));
    }
    Files.writeString(dir.resolve("chat_template.jinja"), "J\n");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertEquals("J", t.chatTemplate().orElseThrow().render(List.of(), true));
    }
  }

  @Test
  void fingerprintIsSha256OfTokenizerJsonThenTokenizerConfig() throws IOException {
    // cat tokenizer.json tokenizer_config.json | sha256sum
    try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir("llama3"))) {
      assertEquals(
          "7b8c9373213ceaffd3e63c35d862d1d6da951e24ae2a5e40fb1cf51813a1410f", t.fingerprint());
    }
    Path dir = TokenizerFixtures.copyOf("llama3", tmp.resolve("m"));
    Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertNotEquals(
          "7b8c9373213ceaffd3e63c35d862d1d6da951e24ae2a5e40fb1cf51813a1410f", t.fingerprint());
    }
  }

  @Test
  void offsetsAreStringIndicesEvenAroundEmoji() throws IOException {
    String text = "héllo 😀 wörld";
    try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir("qwen3"))) {
      Encoding e = t.encodeWithOffsets(text, false);
      List<String> pieces = new ArrayList<>();
      for (int i = 0; i < e.length(); i++) {
        pieces.add(text.substring(e.starts()[i], e.ends()[i]));
      }
      assertEquals(List.of("h", "él", "lo", " 😀", " w", "ör", "ld"), pieces);
      assertArrayEquals(t.encode(text, false), e.ids());
    }
  }

  @Test
  void tokensInsideOneCharacterShareItsSpan() throws IOException {
    // GPT-2 has no token for this emoji: its four UTF-8 bytes become several tokens.
    String text = "a🦙";
    try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir("gpt2"))) {
      Encoding e = t.encodeWithOffsets(text, false);
      assertTrue(e.length() > 2, "byte-level pieces expected");
      assertEquals(0, e.starts()[0]);
      assertEquals(1, e.ends()[0]);
      for (int i = 1; i < e.length(); i++) {
        assertEquals("🦙", text.substring(e.starts()[i], e.ends()[i]));
      }
      assertEquals(text, t.decode(e.ids(), false));
    }
  }

  @Test
  void present() throws IOException {
    assertTrue(Tokenizer.present(TokenizerFixtures.modelDir("llama3")));
    assertFalse(Tokenizer.present(tmp));
  }

  @Test
  void missingTokenizerJsonNamesTheFile() {
    NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Tokenizer.load(tmp));
    assertTrue(e.getMessage().contains(tmp.resolve("tokenizer.json").toString()), e.getMessage());
  }

  @Test
  void malformedFilesAreNamed() throws IOException {
    Path dir = TokenizerFixtures.copyOf("gpt2", tmp.resolve("m"));
    String good = Files.readString(dir.resolve("tokenizer_config.json"));

    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": 7}");
    assertMessage(dir, "tokenizer_config.json: bos_token must be a string");

    Files.writeString(dir.resolve("tokenizer_config.json"), "{oops");
    assertMessage(dir, "tokenizer_config.json is not valid JSON");

    Files.writeString(dir.resolve("tokenizer_config.json"), good);
    Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"x\"}");
    assertMessage(dir, "generation_config.json: eos_token_id must be an integer");

    Files.delete(dir.resolve("generation_config.json"));
    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"");
    assertMessage(dir, "tokenizer.json is not a Hugging Face tokenizer.json");

    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"}}");
    assertMessage(dir, "tokenizer.json is not a Hugging Face tokenizer.json (has no model.vocab)");
  }

  private static void assertMessage(Path dir, String expected) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(dir));
    assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void extraVariablesCannotReplaceMessages() throws IOException {
    try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir("qwen3"))) {
      ChatTemplate template = t.chatTemplate().orElseThrow();
      assertThrows(
          IllegalArgumentException.class,
          () -> template.render(List.of(), true, Map.of("messages", List.of())));
    }
  }
}
