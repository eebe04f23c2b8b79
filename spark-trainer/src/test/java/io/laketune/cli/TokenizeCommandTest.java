package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.tokenizer.TokenizerFixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code laketune tokenize} on the real Llama 3 tokenizer gives the ids and chat texts of the
 * transformers reference (model-zoo's expected.json), and a bad line stops it with one sentence
 * naming the file and line.
 */
class TokenizeCommandTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void textsAndChatsMatchTransformers() throws Exception {
    JsonNode cases = TokenizerFixtures.json("cases.json");
    JsonNode expected = TokenizerFixtures.json("expected.json").get("tokenizers").get("llama3");
    JsonNode chat = cases.get("chats").get(0);
    JsonNode expectedText = expected.get("texts").get(11);
    JsonNode expectedChat = expected.get("chats").get(0);
    assertEquals(chat.get("name"), expectedChat.get("name"));

    Path input = tmp.resolve("in.jsonl");
    Files.write(
        input,
        List.of(
            JSON.createObjectNode().put("text", expectedText.get("text").asText()).toString(),
            "",
            JSON.createObjectNode()
                .<ObjectNode>set(
                    "messages", chat.get("messages"))
                .put("add_generation_prompt", chat.get("add_generation_prompt").asBoolean())
                .toString()),
        StandardCharsets.UTF_8);
    Path output = tmp.resolve("out").resolve("ids.jsonl");

    assertEquals(
        0,
        run("--model", model(), "--input", input.toString(), "--output", output.toString()).code);

    List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
    assertEquals(2, lines.size());
    assertEquals(expectedText.get("ids"), JSON.readTree(lines.get(0)).get("input_ids"));
    JsonNode chatLine = JSON.readTree(lines.get(1));
    assertEquals(expectedChat.get("text"), chatLine.get("text"));
    assertEquals(expectedChat.get("ids"), chatLine.get("input_ids"));
  }

  @Test
  void badLineIsOneSentenceNamingFileAndLine() throws Exception {
    Path input = tmp.resolve("in.jsonl");
    Path output = tmp.resolve("out.jsonl");
    for (String[] bad :
        new String[][] {
          {"{\"text\": \"ok\"}\n{\"text\": 3}", "line 2: \"text\" must be a string."},
          {"{\"text\": \"ok\"}\n{oops", "line 2: is not valid JSON"},
          {"[1]", "line 1: must be a JSON object with \"text\" or \"messages\"."},
          {"{\"prompt\": \"x\"}", "line 1: needs a \"text\" string or a \"messages\" list."},
          {
            "{\"messages\": [{\"content\": \"x\"}]}",
            "line 1: every message needs a \"role\" string."
          },
        }) {
      Files.writeString(input, bad[0]);
      Result result =
          run("--model", model(), "--input", input.toString(), "--output", output.toString());
      assertEquals(1, result.code, result.err);
      String err = result.err.strip();
      assertTrue(err.startsWith("laketune tokenize: " + input + " " + bad[1]), err);
      assertFalse(err.contains("\n"), err);
      assertFalse(Files.exists(output), "no partial output");
    }
  }

  @Test
  void missingModelNamesTokenizerJson() throws Exception {
    Path input = tmp.resolve("in.jsonl");
    Files.writeString(input, "{\"text\": \"x\"}\n");
    Result result =
        run(
            "--model",
            tmp.toString(),
            "--input",
            input.toString(),
            "--output",
            tmp.resolve("o").toString());
    assertEquals(1, result.code);
    assertTrue(result.err.contains(tmp.resolve("tokenizer.json").toString()), result.err);
  }

  private static String model() {
    return TokenizerFixtures.modelDir("llama3").toString();
  }

  private record Result(int code, String err) {}

  private static Result run(String... args) {
    PrintStream original = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      String[] all = new String[args.length + 1];
      all[0] = "tokenize";
      System.arraycopy(args, 0, all, 1, args.length);
      return new Result(Laketune.run(all), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(original);
    }
  }
}
