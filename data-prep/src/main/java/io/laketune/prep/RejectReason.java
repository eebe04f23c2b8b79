package io.laketune.prep;

import java.util.Locale;

/**
 * Why a line of input did not become a training example. Every line read is kept, rejected for
 * one of these reasons (and written to rejects/ with file, line and detail), dropped by the length
 * policy, or removed as a duplicate; the manifest counts each. The names are what the manifest
 * and rejects/ show.
 */
public enum RejectReason {
  /** The line is empty or only white space. */
  BLANK_LINE,
  /** The line is not valid UTF-8. */
  INVALID_UTF8,
  /** The line is longer than length.max_record_bytes; it was not held in memory. */
  RECORD_TOO_LARGE,
  /** The line is not one JSON value. */
  MALFORMED_JSON,
  /** The line is JSON but not an object. */
  NOT_AN_OBJECT,
  /** A field the format needs is absent or null. */
  MISSING_FIELD,
  /** A field has the wrong JSON type (a number where text belongs, ...). */
  WRONG_TYPE,
  /** The text, completion or output to train on is empty. */
  EMPTY_CONTENT,
  /** A message's role is none of format.roles. */
  UNKNOWN_ROLE,
  /** A conversation has no assistant turn, so nothing of it would be trained on. */
  NO_ASSISTANT_TURN,
  /** The chat template rejected the conversation (raise_exception) or failed to render it. */
  TEMPLATE_ERROR,
  /**
   * The chat template renders a conversation so that its first turns are not a prefix of the
   * whole, so assistant turns cannot be located in it.
   */
  TEMPLATE_MISMATCH;

  /** The name written in the manifest and in rejects/: lower case, like malformed_json. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
