package io.laketune.prep.format;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfig.AlpacaPrompt;
import io.laketune.prep.config.PrepConfig.FormatType;
import io.laketune.prep.config.PrepConfig.TrainOn;
import io.laketune.tokenizer.Tokenizer;

/** Turns one JSON object into the text the model sees and the ranges of it that are trained. */
public interface RecordFormat {

  /**
   * @throws BadRecordException when the record lacks a field, has one of the wrong type, or the chat
   *     template rejects it
   */
  Rendered render(JsonNode record) throws BadRecordException;

  /** The format format.type asks for. */
  static RecordFormat of(PrepConfig config, Tokenizer tokenizer) {
    PrepConfig.Format format = config.format();
    boolean eos = config.labels().addEos();
    boolean locateTurns = config.labels().trainOn() == TrainOn.COMPLETION;
    return switch (format.type()) {
      case TEXT -> new TextFormat(format.field("text"), eos);
      case PROMPT_COMPLETION ->
          new PromptCompletionFormat(format.field("prompt"), format.field("completion"), eos);
      case CHAT -> ChatFormat.of(format, tokenizer, locateTurns);
      case ALPACA -> format.alpacaPrompt() == AlpacaPrompt.CHAT
          ? new AlpacaFormat(format, eos, ChatFormat.of(format, tokenizer, locateTurns))
          : new AlpacaFormat(format, eos, null);
    };
  }

  /** Whether the format renders with the chat template (and so needs one). */
  static boolean needsChatTemplate(PrepConfig.Format format) {
    return format.type() == FormatType.CHAT
        || (format.type() == FormatType.ALPACA && format.alpacaPrompt() == AlpacaPrompt.CHAT);
  }
}
