package io.laketune.prep.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;
import io.laketune.prep.config.PrepConfig;
import io.laketune.tokenizer.ChatTemplate;
import io.laketune.tokenizer.ChatTemplateException;
import io.laketune.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * format.type = chat: {"messages": [{"role", "content", ...}, ...]} rendered with the tokenizer's
 * chat template, as transformers' apply_chat_template(messages, tokenize=False) renders it.
 *
 * <p>Assistant turns are found without knowing the template, by rendering prefixes: turn i starts
 * where render(messages[:i], add_generation_prompt=True) ends, which must be a prefix of the whole
 * rendering (else TEMPLATE_MISMATCH). So the generation prompt (Llama 3's assistant header, Qwen3's
 * "&lt;|im_start|&gt;assistant\n") is not trained and whatever the template writes for the turn
 * after it is (Qwen3's &lt;think&gt; block). The range ends where the turn's content ends in the
 * rendering; tokenization extends it over the first special token after that, the end-of-turn
 * token (&lt;|eot_id|&gt;, &lt;|im_end|&gt;). Templates may change the content (Llama 3 trims it,
 * Qwen3 moves reasoning into a think block and drops it from earlier turns), so the content's end
 * is found by searching the rendering, from the turn's start, for the content's last characters.
 *
 * <p>Message fields other than role and content (reasoning_content, tool_calls, ...) are passed to
 * the template as they are.
 */
final class ChatFormat implements RecordFormat {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** How many of the content's last characters locate its end in the rendering. */
  private static final int TAIL = 32;

  private final ChatTemplate template;
  private final String messagesField;
  private final String roleField;
  private final String contentField;
  /** The data's role name to the template's. */
  private final Map<String, String> roles;
  private final Map<String, Object> templateArgs;
  private final boolean locateTurns;

  private ChatFormat(
      ChatTemplate template, PrepConfig.Format format, boolean locateTurns) {
    this.template = template;
    this.messagesField = format.field("messages");
    this.roleField = format.field("role");
    this.contentField = format.field("content");
    this.roles = new HashMap<>();
    format.roles().forEach((ours, theirs) -> roles.put(theirs, ours));
    this.templateArgs = format.templateArgs();
    this.locateTurns = locateTurns;
  }

  /**
   * @param locateTurns whether assistant turns are located (labels.train_on = completion); with
   *     all tokens trained one rendering is enough
   * @throws IllegalArgumentException when the tokenizer has no chat template
   */
  static ChatFormat of(PrepConfig.Format format, Tokenizer tokenizer, boolean locateTurns) {
    ChatTemplate template = tokenizer.chatTemplate().orElseThrow(() -> new IllegalArgumentException(
        "The tokenizer at " + tokenizer.modelDir() + " has no chat_template in tokenizer_config.json;"
            + " use a chat model's tokenizer or another laketune.prep.format.type."));
    return new ChatFormat(template, format, locateTurns);
  }

  @Override
  public Rendered render(JsonNode record) throws BadRecordException {
    JsonNode value = record.get(messagesField);
    if (value == null || value.isNull()) {
      throw new BadRecordException(RejectReason.MISSING_FIELD, "no field \"" + messagesField + "\"");
    }
    if (!value.isArray()) {
      throw new BadRecordException(RejectReason.WRONG_TYPE,
          "field \"" + messagesField + "\" is " + JsonFields.kind(value) + ", not an array");
    }
    if (value.isEmpty()) {
      throw new BadRecordException(RejectReason.EMPTY_CONTENT, "field \"" + messagesField + "\" is empty");
    }
    List<Map<String, Object>> messages = new ArrayList<>();
    StringBuilder content = new StringBuilder();
    for (int i = 0; i < value.size(); i++) {
      messages.add(message(value.get(i), i, content));
    }
    return render(messages, content.toString());
  }

  /** Renders messages whose roles are already the template's. */
  Rendered render(List<Map<String, Object>> messages, String content) throws BadRecordException {
    String full = render(messages, false);
    List<Integer> starts = new ArrayList<>();
    List<Integer> ends = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      if (!"assistant".equals(messages.get(i).get("role"))) {
        continue;
      }
      if (!locateTurns) {
        starts.add(0);
        ends.add(0);
        continue;
      }
      String prefix = render(messages.subList(0, i), true);
      if (!full.startsWith(prefix)) {
        throw new BadRecordException(RejectReason.TEMPLATE_MISMATCH,
            "the rendering of the first " + i + " messages with the generation prompt is not a"
                + " prefix of the whole conversation's, so assistant turn " + i + " cannot be located");
      }
      int start = prefix.length();
      starts.add(start);
      ends.add(contentEnd(full, start, (String) messages.get(i).get("content")));
    }
    if (starts.isEmpty()) {
      throw new BadRecordException(RejectReason.NO_ASSISTANT_TURN,
          "no message has the assistant role, so nothing would be trained on");
    }
    if (!locateTurns) {
      return new Rendered(full, new int[0], new int[0], true, false, content);
    }
    return new Rendered(full, toArray(starts), toArray(ends), true, false, content);
  }

  /** Where the turn's content ends in the rendering; the turn's start when it cannot be found. */
  private static int contentEnd(String full, int start, String content) {
    String stripped = content == null ? "" : content.strip();
    if (stripped.isEmpty()) {
      return start;
    }
    String tail = stripped.substring(Math.max(0, stripped.length() - TAIL));
    int at = full.indexOf(tail, start);
    return at < 0 ? start : at + tail.length();
  }

  private String render(List<Map<String, Object>> messages, boolean addGenerationPrompt)
      throws BadRecordException {
    try {
      return template.render(messages, addGenerationPrompt, templateArgs);
    } catch (ChatTemplateException e) {
      throw new BadRecordException(RejectReason.TEMPLATE_ERROR, e.getMessage());
    } catch (RuntimeException e) {
      throw new BadRecordException(RejectReason.TEMPLATE_ERROR,
          "the chat template failed: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
    }
  }

  private Map<String, Object> message(JsonNode node, int index, StringBuilder content)
      throws BadRecordException {
    String where = messagesField + "[" + index + "]";
    if (!node.isObject()) {
      throw new BadRecordException(RejectReason.WRONG_TYPE, where + " is " + JsonFields.kind(node) + ", not an object");
    }
    JsonNode roleNode = node.get(roleField);
    if (roleNode == null || roleNode.isNull()) {
      throw new BadRecordException(RejectReason.MISSING_FIELD, where + " has no field \"" + roleField + "\"");
    }
    if (!roleNode.isTextual()) {
      throw new BadRecordException(RejectReason.WRONG_TYPE,
          where + "." + roleField + " is " + JsonFields.kind(roleNode) + ", not a string");
    }
    String role = roles.get(roleNode.textValue());
    if (role == null) {
      throw new BadRecordException(RejectReason.UNKNOWN_ROLE,
          where + " has role \"" + roleNode.textValue() + "\"; format.roles maps " + roles.keySet());
    }
    JsonNode contentNode = node.get(contentField);
    String text;
    if ((contentNode == null || contentNode.isNull()) && node.has("tool_calls")) {
      text = "";
    } else if (contentNode == null || contentNode.isNull()) {
      throw new BadRecordException(RejectReason.MISSING_FIELD, where + " has no field \"" + contentField + "\"");
    } else if (!contentNode.isTextual()) {
      throw new BadRecordException(RejectReason.WRONG_TYPE,
          where + "." + contentField + " is " + JsonFields.kind(contentNode) + ", not a string");
    } else {
      text = contentNode.textValue();
    }
    Map<String, Object> message = new LinkedHashMap<>();
    message.put("role", role);
    message.put("content", text);
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (!field.getKey().equals(roleField) && !field.getKey().equals(contentField)) {
        message.put(field.getKey(), JSON.convertValue(field.getValue(), Object.class));
      }
    }
    if (content.length() > 0) {
      content.append('\0');
    }
    content.append(role).append('\u0001').append(text);
    return message;
  }

  private static int[] toArray(List<Integer> values) {
    return values.stream().mapToInt(Integer::intValue).toArray();
  }
}
