package io.laketune.prep.format;

/**
 * A record written out as the one text the model sees, with the character ranges of it that are
 * trained on when labels.train_on = completion. Offsets are Java String indices (UTF-16 units).
 *
 * @param text the whole example as text: a rendered chat, prompt + completion, or the plain text
 * @param spanStarts start of each trained range, ascending
 * @param spanEnds end (exclusive) of each trained range; for chats the end of the assistant's
 *     content, which tokenization extends over the end-of-turn token the template writes after it
 * @param chat true when the text is a rendered chat: the template already wrote the special tokens
 *     (no post-processor BOS, no appended EOS), and trained ranges end at the end-of-turn token
 * @param appendEos whether eos_token is appended after the text (trained like the last range)
 * @param content the record's content for dedup and the split hash: its fields joined by U+0000,
 *     not yet normalised
 */
public record Rendered(
    String text, int[] spanStarts, int[] spanEnds, boolean chat, boolean appendEos, String content) {

  public Rendered {
    if (spanStarts.length != spanEnds.length) {
      throw new IllegalArgumentException("one end per start: " + spanStarts.length + " vs " + spanEnds.length);
    }
    for (int i = 0; i < spanStarts.length; i++) {
      if (spanStarts[i] < 0 || spanEnds[i] < spanStarts[i] || spanEnds[i] > text.length()
          || (i > 0 && spanStarts[i] < spanEnds[i - 1])) {
        throw new IllegalArgumentException("trained ranges must be ordered and inside the text");
      }
    }
  }

  /** A text whose one trained range runs from {@code start} to its end. */
  static Rendered tail(String text, int start, boolean appendEos, String content) {
    return new Rendered(text, new int[] {start}, new int[] {text.length()}, false, appendEos, content);
  }
}
