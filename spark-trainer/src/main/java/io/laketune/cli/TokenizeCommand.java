package io.laketune.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.tokenizer.ChatTemplate;
import io.laketune.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code laketune tokenize}: token ids for each line of a JSONL file, with the model's tokenizer
 * and chat template, to check what training will see.
 *
 * <ul>
 *   <li>{@code {"text": "..."}} gives {@code {"input_ids": [...]}}, special tokens added as the
 *       tokenizer's post-processor adds them (transformers' {@code tokenizer(text)}).
 *   <li>{@code {"messages": [...], "add_generation_prompt": false}} gives {@code {"text": ...,
 *       "input_ids": [...]}}: the chat rendered as by {@code apply_chat_template(messages,
 *       tokenize=False)}, then encoded without adding special tokens, since the template wrote
 *       them. Optional {@code "tools": [...]} and {@code "chat_template_kwargs": {...}} (such as
 *       {@code {"enable_thinking": false}}) reach the template as in transformers and vLLM.
 * </ul>
 *
 * The output is written to a temporary file beside it and renamed when every line succeeded.
 */
@Command(
    name = "tokenize",
    mixinStandardHelpOptions = true,
    description =
        "Write the token ids of each JSONL line ({\"text\": ...} or {\"messages\": [...]}).")
final class TokenizeCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      required = true,
      paramLabel = "DIR",
      description = "Hugging Face model directory with tokenizer.json (and tokenizer_config.json).")
  Path model;

  @Option(
      names = "--input",
      required = true,
      paramLabel = "FILE.jsonl",
      description =
          "One {\"text\": ...} or {\"messages\": [...], \"add_generation_prompt\": true|false}"
              + " per line.")
  Path input;

  @Option(
      names = "--output",
      required = true,
      paramLabel = "FILE.jsonl",
      description = "One {\"input_ids\": [...]} per input line, with \"text\" for chats.")
  Path output;

  @Override
  public Integer call() throws IOException {
    if (!Files.isRegularFile(input)) {
      throw new IllegalArgumentException(input + " does not exist; give --input a JSONL file.");
    }
    Path dir = output.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path partial = Files.createTempFile(dir, output.getFileName() + ".", ".partial");
    long lines = 0;
    long tokens = 0;
    try (Tokenizer tokenizer = Tokenizer.load(model);
        BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8);
        BufferedWriter out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
      String line;
      int number = 0;
      while ((line = in.readLine()) != null) {
        number++;
        if (line.isBlank()) {
          continue;
        }
        ObjectNode result = tokenizeLine(tokenizer, line, number);
        tokens += result.get("input_ids").size();
        lines++;
        out.write(JSON.writeValueAsString(result));
        out.newLine();
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(partial);
      throw e;
    }
    Files.move(
        partial, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    spec.commandLine()
        .getOut()
        .printf("Tokenized %d lines into %d tokens: %s%n", lines, tokens, output);
    return 0;
  }

  private ObjectNode tokenizeLine(Tokenizer tokenizer, String line, int number) {
    JsonNode row;
    try {
      row = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw lineError(number, "is not valid JSON (" + e.getOriginalMessage() + ")");
    }
    if (row == null || !row.isObject()) {
      throw lineError(number, "must be a JSON object with \"text\" or \"messages\"");
    }
    ObjectNode result = JSON.createObjectNode();
    if (row.has("text")) {
      if (!row.get("text").isTextual()) {
        throw lineError(number, "\"text\" must be a string");
      }
      putIds(result, tokenizer.encode(row.get("text").textValue()));
      return result;
    }
    if (!row.has("messages")) {
      throw lineError(number, "needs a \"text\" string or a \"messages\" list");
    }
    String text = renderChat(tokenizer, row, number);
    result.put("text", text);
    putIds(result, tokenizer.encode(text, false));
    return result;
  }

  private String renderChat(Tokenizer tokenizer, JsonNode row, int number) {
    JsonNode messages = row.get("messages");
    if (!messages.isArray()) {
      throw lineError(number, "\"messages\" must be a list of {\"role\", \"content\"} objects");
    }
    for (JsonNode message : messages) {
      if (!message.isObject() || !message.path("role").isTextual()) {
        throw lineError(number, "every message needs a \"role\" string");
      }
    }
    JsonNode prompt = row.path("add_generation_prompt");
    if (!prompt.isMissingNode() && !prompt.isBoolean()) {
      throw lineError(number, "\"add_generation_prompt\" must be true or false");
    }
    Map<String, Object> extra = new HashMap<>();
    JsonNode kwargs = row.path("chat_template_kwargs");
    if (!kwargs.isMissingNode()) {
      if (!kwargs.isObject()) {
        throw lineError(number, "\"chat_template_kwargs\" must be an object");
      }
      extra.putAll(JSON.convertValue(kwargs, new TypeReference<Map<String, Object>>() {}));
    }
    if (row.has("tools")) {
      extra.put("tools", JSON.convertValue(row.get("tools"), Object.class));
    }
    ChatTemplate template =
        tokenizer
            .chatTemplate()
            .orElseThrow(
                () ->
                    lineError(
                        number,
                        "has \"messages\" but "
                            + model
                            + " has no chat template (chat_template in tokenizer_config.json)"));
    List<Map<String, Object>> chat =
        JSON.convertValue(messages, new TypeReference<List<Map<String, Object>>>() {});
    try {
      return template.render(chat, prompt.asBoolean(false), extra);
    } catch (IllegalArgumentException e) {
      // Also ChatTemplateException: the template rejected this conversation.
      throw lineError(number, e.getMessage());
    }
  }

  private static void putIds(ObjectNode result, int[] ids) {
    var array = result.putArray("input_ids");
    for (int id : ids) {
      array.add(id);
    }
  }

  private IllegalArgumentException lineError(int number, String problem) {
    String sentence = problem.matches("(?s).*[.!?]") ? problem : problem + ".";
    return new IllegalArgumentException(input + " line " + number + ": " + sentence);
  }
}
