package io.laketune.prep.format;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;

/** Reading the fields a format needs, with the reject reason and field name when they are wrong. */
final class JsonFields {

  private JsonFields() {}

  /** A string field that must be present. */
  static String string(JsonNode record, String field) throws BadRecordException {
    JsonNode value = record.get(field);
    if (value == null || value.isNull()) {
      throw new BadRecordException(RejectReason.MISSING_FIELD, "no field \"" + field + "\"");
    }
    if (!value.isTextual()) {
      throw new BadRecordException(
          RejectReason.WRONG_TYPE,
          "field \"" + field + "\" is " + kind(value) + ", not a string");
    }
    return value.textValue();
  }

  /** A string field that may be absent or null (then ""). */
  static String optionalString(JsonNode record, String field) throws BadRecordException {
    JsonNode value = record.get(field);
    return value == null || value.isNull() ? "" : string(record, field);
  }

  /** A string field that must hold more than white space. */
  static String nonBlank(JsonNode record, String field) throws BadRecordException {
    String value = string(record, field);
    if (value.isBlank()) {
      throw new BadRecordException(RejectReason.EMPTY_CONTENT, "field \"" + field + "\" is empty");
    }
    return value;
  }

  static String kind(JsonNode value) {
    return switch (value.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT, POJO -> "an object";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case STRING -> "a string";
      case NULL, MISSING -> "null";
      case BINARY -> "binary";
    };
  }
}
