package io.laketune.prep.format;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.config.PrepConfig;
import java.util.List;
import java.util.Map;

/**
 * format.type = alpaca: {"instruction", "input" (optional), "output"}. Written either with the
 * Stanford Alpaca prompt (the output is the trained range) or, with a chat format given, as a user
 * turn (instruction, a blank line, input) and an assistant turn (output).
 */
final class AlpacaFormat implements RecordFormat {

  static final String PROMPT_WITH_INPUT =
      "Below is an instruction that describes a task, paired with an input that provides further"
          + " context. Write a response that appropriately completes the request.\n\n"
          + "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:\n";
  static final String PROMPT_WITHOUT_INPUT =
      "Below is an instruction that describes a task. Write a response that appropriately"
          + " completes the request.\n\n### Instruction:\n%s\n\n### Response:\n";

  private final String instructionField;
  private final String inputField;
  private final String outputField;
  private final boolean appendEos;
  private final ChatFormat chat;

  /** @param chat renders the two turns; null for the Alpaca prompt */
  AlpacaFormat(PrepConfig.Format format, boolean appendEos, ChatFormat chat) {
    this.instructionField = format.field("instruction");
    this.inputField = format.field("input");
    this.outputField = format.field("output");
    this.appendEos = appendEos;
    this.chat = chat;
  }

  @Override
  public Rendered render(JsonNode record) throws BadRecordException {
    String instruction = JsonFields.nonBlank(record, instructionField);
    String input = JsonFields.optionalString(record, inputField);
    String output = JsonFields.nonBlank(record, outputField);
    String content = instruction + '\0' + input + '\0' + output;
    if (chat != null) {
      String user = input.isEmpty() ? instruction : instruction + "\n\n" + input;
      List<Map<String, Object>> messages = List.of(
          Map.of("role", "user", "content", user), Map.of("role", "assistant", "content", output));
      return chat.render(messages, content);
    }
    String prompt = input.isEmpty()
        ? String.format(PROMPT_WITHOUT_INPUT, instruction)
        : String.format(PROMPT_WITH_INPUT, instruction, input);
    return Rendered.tail(prompt + output, prompt.length(), appendEos, content);
  }
}
