package io.laketune.platform;

/** No ND4J native build on the class path can run on this machine; the message says what to add. */
public final class NativeBuildException extends IllegalStateException {
  public NativeBuildException(String message) {
    super(message);
  }
}
