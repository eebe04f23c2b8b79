package io.laketune.prep.format;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.BadRecordException;

/**
 * format.type = prompt_completion: the text is prompt + completion exactly as given (put the
 * separator you want into the data), and the completion is the trained range. Tokenized as one
 * text, like transformers' tokenizer(prompt + completion).
 */
final class PromptCompletionFormat implements RecordFormat {

  private final String promptField;
  private final String completionField;
  private final boolean appendEos;

  PromptCompletionFormat(String promptField, String completionField, boolean appendEos) {
    this.promptField = promptField;
    this.completionField = completionField;
    this.appendEos = appendEos;
  }

  @Override
  public Rendered render(JsonNode record) throws BadRecordException {
    String prompt = JsonFields.string(record, promptField);
    String completion = JsonFields.nonBlank(record, completionField);
    return Rendered.tail(prompt + completion, prompt.length(), appendEos, prompt + '\0' + completion);
  }
}
