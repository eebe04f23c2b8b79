package io.laketune.tokenizer;

/**
 * A chat template could not render a conversation: the template rejected it with {@code
 * raise_exception} (its message is in this one), or the template itself is broken. Data
 * preparation can catch it to set one conversation aside instead of stopping.
 */
public final class ChatTemplateException extends IllegalArgumentException {

  public ChatTemplateException(String message, Throwable cause) {
    super(message, cause);
  }
}
