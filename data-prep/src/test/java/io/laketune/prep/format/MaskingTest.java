package io.laketune.prep.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;
import io.laketune.prep.TestConfigs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.tokenize.ExampleTokenizer;
import io.laketune.prep.tokenize.TokenizedDoc;
import io.laketune.tokenizer.Tokenizer;
import io.laketune.tokenizer.TokenizerFixtures;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Exact ids and labels per format on the real Llama 3, Qwen3 and GPT-2 tokenizers. Expected values
 * are built from the pieces of the text the template writes, each tokenized on its own: the test
 * also proves that those pieces tokenize the same alone as inside the whole text, so the trained
 * range starts and ends on token boundaries.
 */
class MaskingTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, Tokenizer> TOKENIZERS = new HashMap<>();

  @BeforeAll
  static void load() throws Exception {
    for (String name : List.of("llama3", "qwen3", "gpt2")) {
      TOKENIZERS.put(name, Tokenizer.load(TokenizerFixtures.modelDir(name)));
    }
  }

  @AfterAll
  static void close() {
    TOKENIZERS.values().forEach(Tokenizer::close);
  }

  /** Pieces of expected text: trained or not. */
  private static final class Expected {
    final List<String> pieces = new ArrayList<>();
    final List<Boolean> trained = new ArrayList<>();

    Expected context(String text) {
      pieces.add(text);
      trained.add(false);
      return this;
    }

    Expected trained(String text) {
      pieces.add(text);
      trained.add(true);
      return this;
    }

    String text() {
      return String.join("", pieces);
    }

    TokenizedDoc doc(Tokenizer tokenizer) {
      List<Integer> ids = new ArrayList<>();
      List<Integer> labels = new ArrayList<>();
      for (int i = 0; i < pieces.size(); i++) {
        for (int id : tokenizer.encode(pieces.get(i), false)) {
          ids.add(id);
          labels.add(trained.get(i) ? id : TokenizedDoc.IGNORE);
        }
      }
      return new TokenizedDoc(ids.stream().mapToInt(Integer::intValue).toArray(),
          labels.stream().mapToInt(Integer::intValue).toArray());
    }
  }

  private static TokenizedDoc prepare(String tokenizer, String hocon, String line) throws Exception {
    Tokenizer t = TOKENIZERS.get(tokenizer);
    PrepConfig config = TestConfigs.config(t.modelDir().toString(), hocon);
    Rendered rendered = RecordFormat.of(config, t).render(JSON.readTree(line));
    return new ExampleTokenizer(t, config).tokenize(rendered);
  }

  private static void assertDoc(Expected expected, Tokenizer tokenizer, TokenizedDoc actual, String text) {
    TokenizedDoc want = expected.doc(tokenizer);
    assertArrayEquals(tokenizer.encode(text, false), want.ids(), "pieces tokenize as the whole text");
    assertArrayEquals(want.ids(), actual.ids(), "ids");
    assertArrayEquals(want.labels(), actual.labels(), "labels");
  }

  @Test
  void llama3ChatTrainsAssistantTurnsAndTheirEotOnly() throws Exception {
    String line = "{\"messages\": ["
        + "{\"role\": \"system\", \"content\": \"You are terse.\"},"
        + "{\"role\": \"user\", \"content\": \"Hi there\"},"
        + "{\"role\": \"assistant\", \"content\": \"  Hello! \\n\"},"
        + "{\"role\": \"user\", \"content\": \"What is 2+2?\"},"
        + "{\"role\": \"assistant\", \"content\": \"4, of course.\"}]}";
    Expected expected = new Expected()
        .context("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        .trained("Hello!<|eot_id|>")
        .context("<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        .trained("4, of course.<|eot_id|>")
        // This revision of the Llama 3 template writes the generation prompt unconditionally.
        .context("<|start_header_id|>assistant<|end_header_id|>\n\n");
    Tokenizer t = TOKENIZERS.get("llama3");
    assertDoc(expected, t, prepare("llama3", "format.type = chat", line), expected.text());
  }

  @Test
  void qwen3ChatTrainsTheThinkBlockOfTheLastTurn() throws Exception {
    String line = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
        + "{\"role\": \"assistant\", \"content\": \"Hello!\"}]}";
    Expected expected = new Expected()
        .context("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        .trained("<think>\n\n</think>\n\nHello!<|im_end|>")
        .context("\n");
    assertDoc(expected, TOKENIZERS.get("qwen3"), prepare("qwen3", "format.type = chat", line), expected.text());
  }

  @Test
  void qwen3DropsEarlierReasoningAndKeepsTheLast() throws Exception {
    String line = "{\"messages\": [{\"role\": \"user\", \"content\": \"Q1\"},"
        + "{\"role\": \"assistant\", \"content\": \"<think>\\nr1\\n</think>\\n\\nA1\"},"
        + "{\"role\": \"user\", \"content\": \"Q2\"},"
        + "{\"role\": \"assistant\", \"content\": \"<think>\\nr2 is longer\\n</think>\\n\\nA2\"}]}";
    Expected expected = new Expected()
        .context("<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n")
        .trained("A1<|im_end|>")
        .context("\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n")
        .trained("<think>\nr2 is longer\n</think>\n\nA2<|im_end|>")
        .context("\n");
    assertDoc(expected, TOKENIZERS.get("qwen3"), prepare("qwen3", "format.type = chat", line), expected.text());
  }

  @Test
  void qwen3WithThinkingOffLeavesTheEmptyThinkBlockUntrained() throws Exception {
    String line = "{\"conversations\": [{\"from\": \"human\", \"value\": \"Hi\"},"
        + "{\"from\": \"gpt\", \"value\": \"Hello!\"}]}";
    Expected expected = new Expected()
        .context("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
        .trained("Hello!<|im_end|>")
        .context("\n");
    String hocon = "format { type = chat, template_args.enable_thinking = false,"
        + " fields { messages = conversations, role = from, content = value },"
        + " roles { user = human, assistant = gpt } }";
    assertDoc(expected, TOKENIZERS.get("qwen3"), prepare("qwen3", hocon, line), expected.text());
  }

  @Test
  void chatWithAllTokensTrainsEverything() throws Exception {
    String line = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
        + "{\"role\": \"assistant\", \"content\": \"Hello!\"}]}";
    TokenizedDoc doc = prepare("qwen3", "format.type = chat, labels.train_on = all", line);
    assertArrayEquals(doc.ids(), doc.labels());
  }

  @Test
  void llama3TextGetsBosAsTheTokenizerSaysAndAnAppendedEos() throws Exception {
    Tokenizer t = TOKENIZERS.get("llama3");
    String line = "{\"text\": \"The quick brown fox.\"}";
    int[] body = t.encode("The quick brown fox.", false);
    // This tokenizer.json has no BOS post-processor and tokenizer_config.json no add_bos_token.
    TokenizedDoc auto = prepare("llama3", "", line);
    assertArrayEquals(concat(body, new int[] {128001}), auto.ids());
    assertArrayEquals(auto.ids(), auto.labels());
    TokenizedDoc bos = prepare("llama3", "labels.add_bos = true", line);
    assertArrayEquals(concat(new int[] {128000}, concat(body, new int[] {128001})), bos.ids());
    assertArrayEquals(bos.ids(), bos.labels());
    assertArrayEquals(body, prepare("llama3", "labels { add_bos = false, add_eos = false }", line).ids());
  }

  @Test
  void gpt2GetsBosOnlyWhenAskedFor() throws Exception {
    Tokenizer t = TOKENIZERS.get("gpt2");
    int[] body = t.encode("Hello world", false);
    assertArrayEquals(concat(body, new int[] {50256}),
        prepare("gpt2", "", "{\"text\": \"Hello world\"}").ids());
    TokenizedDoc bos = prepare("gpt2", "labels.add_bos = true", "{\"text\": \"Hello world\"}");
    assertArrayEquals(concat(new int[] {50256}, concat(body, new int[] {50256})), bos.ids());
  }

  @Test
  void promptCompletionTrainsTheCompletionAndEos() throws Exception {
    Tokenizer t = TOKENIZERS.get("llama3");
    TokenizedDoc doc = prepare("llama3", "format.type = prompt_completion, labels.add_bos = true",
        "{\"prompt\": \"Q: 2+2?\\nA:\", \"completion\": \" 4\", \"extra\": 1}");
    Expected expected = new Expected().context("<|begin_of_text|>Q: 2+2?\nA:").trained(" 4<|end_of_text|>");
    TokenizedDoc want = expected.doc(t);
    assertArrayEquals(want.ids(), doc.ids());
    assertArrayEquals(want.labels(), doc.labels());
  }

  @Test
  void alpacaPromptAndAlpacaAsChat() throws Exception {
    Tokenizer t = TOKENIZERS.get("gpt2");
    String line = "{\"instruction\": \"Add.\", \"input\": \"2 and 2\", \"output\": \"4\"}";
    String prompt = String.format(AlpacaFormat.PROMPT_WITH_INPUT, "Add.", "2 and 2");
    TokenizedDoc doc = prepare("gpt2", "format.type = alpaca", line);
    TokenizedDoc want = new Expected().context(prompt).trained("4<|endoftext|>").doc(t);
    assertArrayEquals(want.ids(), doc.ids());
    assertArrayEquals(want.labels(), doc.labels());

    TokenizedDoc chat = prepare("llama3", "format { type = alpaca, alpaca_prompt = chat }", line);
    Expected expected = new Expected()
        .context("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nAdd.\n\n2 and 2<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        .trained("4<|eot_id|>")
        .context("<|start_header_id|>assistant<|end_header_id|>\n\n");
    assertDoc(expected, TOKENIZERS.get("llama3"), chat, expected.text());
  }

  @Test
  void badRecordsNameTheirReason() {
    assertEquals(RejectReason.MISSING_FIELD, reason("llama3", "", "{\"txt\": \"a\"}"));
    assertEquals(RejectReason.WRONG_TYPE, reason("llama3", "", "{\"text\": 3}"));
    assertEquals(RejectReason.EMPTY_CONTENT, reason("llama3", "", "{\"text\": \"  \"}"));
    assertEquals(RejectReason.UNKNOWN_ROLE, reason("llama3", "format.type = chat",
        "{\"messages\": [{\"role\": \"robot\", \"content\": \"a\"}]}"));
    assertEquals(RejectReason.NO_ASSISTANT_TURN, reason("llama3", "format.type = chat",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}"));
    assertEquals(RejectReason.WRONG_TYPE, reason("llama3", "format.type = chat",
        "{\"messages\": {\"role\": \"user\"}}"));
    assertEquals(RejectReason.WRONG_TYPE, reason("llama3", "format.type = chat",
        "{\"messages\": [{\"role\": \"user\", \"content\": [1]}]}"));
    assertEquals(RejectReason.MISSING_FIELD, reason("llama3", "format.type = prompt_completion",
        "{\"prompt\": \"a\"}"));
  }

  private static RejectReason reason(String tokenizer, String hocon, String line) {
    return assertThrows(BadRecordException.class, () -> prepare(tokenizer, hocon, line)).reason();
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = new int[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  static JsonNode json(String line) throws Exception {
    return JSON.readTree(line);
  }
}
