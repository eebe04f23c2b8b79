package io.laketune.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.model.TokenizedExample;
import io.laketune.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads evaluation JSONL: {@code {"input_ids": [...], "labels": [...]}} (labels optional) or
 * {@code {"text": "..."}} tokenized with the model's tokenizer. A bad line is an error naming the
 * file, the line and the fix.
 */
final class JsonlExamples {
  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonlExamples() {}

  /** @param vocabSize ids and labels (other than -100) must lie in [0, vocabSize) */
  static List<TokenizedExample> read(Path file, Path modelDir, int vocabSize) throws IOException {
    if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + " does not exist or is not a file");
    List<TokenizedExample> out = new ArrayList<>();
    Tokenizer tokenizer = null;
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) continue;
        String where = file + " line " + lineNo;
        JsonNode node;
        try {
          node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
          throw new IllegalArgumentException(where + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) throw new IllegalArgumentException(where + " is not a JSON object");
        if (node.has("input_ids")) {
          int[] ids = intArray(node.get("input_ids"), where, "input_ids");
          int[] labels = node.hasNonNull("labels") ? intArray(node.get("labels"), where, "labels") : ids.clone();
          if (labels.length != ids.length) {
            throw new IllegalArgumentException(where + ": labels has " + labels.length
                + " entries but input_ids has " + ids.length + "; they must be the same length");
          }
          checkRange(ids, vocabSize, where, "input_ids", false);
          checkRange(labels, vocabSize, where, "labels", true);
          out.add(new TokenizedExample(ids, labels));
        } else if (node.has("text")) {
          if (!node.get("text").isTextual()) throw new IllegalArgumentException(where + ": \"text\" must be a string");
          if (tokenizer == null) {
            if (!Tokenizer.present(modelDir)) {
              throw new IllegalArgumentException(where + " has text but " + modelDir
                  + " has no tokenizer.json; give pre-tokenized {\"input_ids\": [...]} lines instead");
            }
            tokenizer = Tokenizer.load(modelDir);
          }
          int[] ids = tokenizer.encode(node.get("text").textValue());
          if (ids.length == 0) continue;
          out.add(TokenizedExample.allTokens(ids));
        } else {
          throw new IllegalArgumentException(where + " has neither \"input_ids\" nor \"text\"");
        }
      }
    } finally {
      if (tokenizer != null) tokenizer.close();
    }
    if (out.isEmpty()) throw new IllegalArgumentException(file + " has no examples");
    return out;
  }

  private static void checkRange(int[] ids, int vocab, String where, String key, boolean allowIgnore) {
    for (int i = 0; i < ids.length; i++) {
      if (allowIgnore && ids[i] == -100) continue;
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw new IllegalArgumentException(where + ": \"" + key + "\"[" + i + "] = " + ids[i]
            + " is outside the model's vocabulary [0, " + vocab + ")");
      }
    }
  }

  private static int[] intArray(JsonNode n, String where, String key) {
    if (!n.isArray() || n.isEmpty()) throw new IllegalArgumentException(where + ": \"" + key + "\" must be a non-empty list of integers");
    int[] out = new int[n.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode v = n.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToInt()) {
        throw new IllegalArgumentException(where + ": \"" + key + "\"[" + i + "] is " + v + ", not an integer");
      }
      out[i] = v.intValue();
    }
    return out;
  }
}
