package io.laketune.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Token string to id, read from a tokenizer.json: the model's vocabulary plus the added tokens,
 * the same map as the Rust tokenizers' {@code get_vocab(with_added_tokens=true)}. DJL exposes no
 * such lookup. The file is streamed: a Llama 3 tokenizer.json also holds 280k merges that a tree
 * would keep in memory for nothing.
 */
final class Vocabulary {

  private static final JsonFactory JSON = new JsonFactory();

  private final Map<String, Integer> ids;

  private Vocabulary(Map<String, Integer> ids) {
    this.ids = ids;
  }

  /** Reads the vocabulary; {@code IllegalArgumentException} says what is wrong with the file. */
  static Vocabulary read(byte[] tokenizerJson) throws IOException {
    Map<String, Integer> ids = new HashMap<>();
    boolean sawModelVocab = false;
    try (JsonParser p = JSON.createParser(tokenizerJson)) {
      expect(p.nextToken() == JsonToken.START_OBJECT, "is not a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if ("model".equals(field) && p.currentToken() == JsonToken.START_OBJECT) {
          sawModelVocab = readModel(p, ids);
        } else if ("added_tokens".equals(field) && p.currentToken() == JsonToken.START_ARRAY) {
          readAddedTokens(p, ids);
        } else {
          p.skipChildren();
        }
      }
    }
    expect(sawModelVocab, "has no model.vocab");
    return new Vocabulary(ids);
  }

  OptionalInt id(String token) {
    Integer id = ids.get(token);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  int size() {
    return ids.size();
  }

  private static boolean readModel(JsonParser p, Map<String, Integer> ids) throws IOException {
    boolean sawVocab = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if ("vocab".equals(field) && value == JsonToken.START_OBJECT) {
        // BPE, WordPiece, WordLevel: {"token": id, ...}
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String token = p.currentName();
          expect(p.nextToken() == JsonToken.VALUE_NUMBER_INT, "has a non-integer id in model.vocab");
          ids.putIfAbsent(token, p.getIntValue());
        }
        sawVocab = true;
      } else if ("vocab".equals(field) && value == JsonToken.START_ARRAY) {
        // Unigram: [["piece", score], ...], the id is the position.
        int id = 0;
        while (p.nextToken() == JsonToken.START_ARRAY) {
          expect(p.nextToken() == JsonToken.VALUE_STRING, "has a malformed Unigram model.vocab");
          ids.putIfAbsent(p.getText(), id++);
          while (p.nextToken() != JsonToken.END_ARRAY) {
            p.skipChildren();
          }
        }
        sawVocab = true;
      } else {
        p.skipChildren();
      }
    }
    return sawVocab;
  }

  private static void readAddedTokens(JsonParser p, Map<String, Integer> ids) throws IOException {
    while (p.nextToken() == JsonToken.START_OBJECT) {
      Integer id = null;
      String content = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if ("id".equals(field)) {
          id = p.getIntValue();
        } else if ("content".equals(field)) {
          content = p.getText();
        } else {
          p.skipChildren();
        }
      }
      expect(id != null && content != null, "has an added_tokens entry without id or content");
      // An added token that is also in the model's vocabulary keeps the added token's id, as in
      // the Rust tokenizers.
      ids.put(content, id);
    }
  }

  private static void expect(boolean condition, String problem) {
    if (!condition) {
      throw new IllegalArgumentException(problem);
    }
  }
}
