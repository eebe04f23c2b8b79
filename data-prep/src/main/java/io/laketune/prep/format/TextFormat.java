package io.laketune.prep.format;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.BadRecordException;

/** format.type = text: {"text": "..."} for continued pretraining; the whole text is one range. */
final class TextFormat implements RecordFormat {

  private final String field;
  private final boolean appendEos;

  TextFormat(String field, boolean appendEos) {
    this.field = field;
    this.appendEos = appendEos;
  }

  @Override
  public Rendered render(JsonNode record) throws BadRecordException {
    String text = JsonFields.nonBlank(record, field);
    return Rendered.tail(text, 0, appendEos, text);
  }
}
