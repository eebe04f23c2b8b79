package io.laketune.prep;

/**
 * A line is not a valid example. Thrown by the parsing, rendering and masking steps and turned
 * into a reject (file, line, reason, detail) by the job; never shown to the user as a failure.
 * No stack trace: it is control flow on bad data, thrown once per bad line.
 */
public final class BadRecordException extends Exception {

  private final RejectReason reason;

  /** @param detail what exactly is wrong, for rejects/ (names the field where there is one) */
  public BadRecordException(RejectReason reason, String detail) {
    super(detail, null, false, false);
    this.reason = reason;
  }

  public RejectReason reason() {
    return reason;
  }

  public String detail() {
    return getMessage();
  }
}
