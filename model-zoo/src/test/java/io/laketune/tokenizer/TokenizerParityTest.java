package io.laketune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The Java tokenizer gives exactly the ids, decoded texts and chat ids of transformers in
 * expected.json (written by src/test/node/make_tokenizer_fixtures.mjs), for Llama 3, Qwen3 and
 * GPT-2.
 */
class TokenizerParityTest {

  private static final JsonNode EXPECTED = TokenizerFixtures.json("expected.json");
  private static final List<Tokenizer> OPEN = new ArrayList<>();

  @AfterAll
  static void close() {
    OPEN.forEach(Tokenizer::close);
  }

  @TestFactory
  Stream<DynamicContainer> matchesTransformers() throws Exception {
    List<DynamicContainer> perTokenizer = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it = EXPECTED.get("tokenizers").fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> entry = it.next();
      Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.modelDir(entry.getKey()));
      OPEN.add(tokenizer);
      List<DynamicTest> tests = new ArrayList<>();
      int n = 0;
      for (JsonNode text : entry.getValue().get("texts")) {
        tests.add(DynamicTest.dynamicTest("text " + n++, () -> assertText(tokenizer, text)));
      }
      for (JsonNode chat : entry.getValue().get("chats")) {
        tests.add(
            DynamicTest.dynamicTest(
                "chat " + chat.get("name").asText(),
                () ->
                    assertArrayEquals(
                        ints(chat.get("ids")),
                        tokenizer.encode(chat.get("text").asText(), false))));
      }
      perTokenizer.add(DynamicContainer.dynamicContainer(entry.getKey(), tests));
    }
    return perTokenizer.stream();
  }

  private static void assertText(Tokenizer tokenizer, JsonNode expected) {
    String text = expected.get("text").asText();
    int[] ids = ints(expected.get("ids"));
    assertArrayEquals(ids, tokenizer.encode(text), "ids of " + text);
    assertArrayEquals(
        ints(expected.get("ids_no_special")), tokenizer.encode(text, false), "ids of " + text);
    assertArrayEquals(
        ids, tokenizer.encodeWithOffsets(text, true).ids(), "ids with offsets of " + text);
    assertEquals(expected.get("decoded").asText(), tokenizer.decode(ids, false));
    assertEquals(expected.get("decoded_skip_special").asText(), tokenizer.decode(ids, true));
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).intValue();
    }
    return out;
  }
}
