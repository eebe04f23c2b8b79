package io.laketune.tokenizer;

import static io.laketune.tokenizer.TokenizerFixtures.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Jinjava renders like Python's jinja2 in transformers' environment: every snippet of cases.json
 * and every chat of the real Llama 3 and Qwen3 templates gives the text (or the raise_exception
 * message) recorded in jinja2_renders.json by src/test/python/render_chat_templates.py.
 */
class ChatTemplateParityTest {

  private static final JsonNode CASES = TokenizerFixtures.json("cases.json");
  private static final JsonNode JINJA2 = TokenizerFixtures.json("jinja2_renders.json");

  @TestFactory
  Stream<DynamicTest> snippetsRenderAsInJinja2() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode snippet : CASES.get("snippets")) {
      String name = snippet.get("name").asText();
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> {
                Map<String, Object> vars = map(snippet.get("vars"));
                Object messages = vars.remove("messages");
                List<Map<String, Object>> msgs =
                    messages == null ? messages(CASES.get("snippet_messages")) : cast(messages);
                ChatTemplate template = new ChatTemplate(snippet.get("template").asText(), Map.of());
                assertRendersAsJinja2(
                    JINJA2.get("snippets").get(name), () -> template.render(msgs, false, vars));
              }));
    }
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> realTemplatesRenderAsInJinja2() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode chat : CASES.get("chats")) {
      for (JsonNode tokenizerName : chat.get("tokenizers")) {
        String tokenizer = tokenizerName.asText();
        String name = chat.get("name").asText();
        tests.add(
            DynamicTest.dynamicTest(
                tokenizer + "/" + name,
                () -> {
                  try (Tokenizer t = Tokenizer.load(TokenizerFixtures.modelDir(tokenizer))) {
                    ChatTemplate template = t.chatTemplate().orElseThrow();
                    assertRendersAsJinja2(
                        JINJA2.get("chats").get(tokenizer).get(name),
                        () ->
                            template.render(
                                messages(chat.get("messages")),
                                chat.get("add_generation_prompt").asBoolean(),
                                map(chat.get("extra"))));
                  }
                }));
      }
    }
    return tests.stream();
  }

  private static void assertRendersAsJinja2(JsonNode expected, Render render) {
    if (expected.has("error")) {
      ChatTemplateException e = assertThrows(ChatTemplateException.class, render::get);
      assertTrue(
          e.getMessage().endsWith(": " + expected.get("error").asText()), e.getMessage());
    } else {
      assertEquals(expected.get("text").asText(), render.get());
    }
  }

  private interface Render {
    String get();
  }

  static List<Map<String, Object>> messages(JsonNode node) {
    return JSON.convertValue(node, new TypeReference<List<Map<String, Object>>>() {});
  }

  static Map<String, Object> map(JsonNode node) {
    if (node == null) {
      return new java.util.HashMap<>();
    }
    return JSON.convertValue(node, new TypeReference<Map<String, Object>>() {});
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> cast(Object messages) {
    return (List<Map<String, Object>>) messages;
  }
}
