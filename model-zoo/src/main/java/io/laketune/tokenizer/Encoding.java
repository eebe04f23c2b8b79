package io.laketune.tokenizer;

/**
 * Token ids of a text and, for each token, the part of the text it came from.
 *
 * <p>Offsets are Java {@code String} indices (UTF-16 units), so {@code text.substring(starts[i],
 * ends[i])} is the source of token i. A byte-level token that holds only part of a character
 * (one of the four bytes of an emoji) spans the whole character. Special tokens that the
 * post-processor adds have start = end = 0, as in Hugging Face's offset_mapping.
 *
 * @param ids token ids, length T
 * @param starts start offset of each token, length T
 * @param ends end offset (exclusive) of each token, length T
 */
public record Encoding(int[] ids, int[] starts, int[] ends) {

  public Encoding {
    if (starts.length != ids.length || ends.length != ids.length) {
      throw new IllegalArgumentException(
          "ids, starts and ends must have one entry per token: "
              + ids.length + ", " + starts.length + ", " + ends.length);
    }
  }

  /** Number of tokens. */
  public int length() {
    return ids.length;
  }
}
