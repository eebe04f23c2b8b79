package io.laketune.prep.tokenize;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfig.AddBos;
import io.laketune.prep.config.PrepConfig.TrainOn;
import io.laketune.prep.format.RecordFormat;
import io.laketune.prep.format.Rendered;
import io.laketune.tokenizer.Encoding;
import io.laketune.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokenizes a {@link Rendered} example and labels it: the ids are those of the whole text, as
 * transformers' tokenizer(text) gives them, and a token is trained when it starts inside a trained
 * character range (labels.train_on = completion) or always (all).
 *
 * <p>Special tokens the post-processor adds (offsets 0..0) are trained when the token before them
 * is, so an added end token follows its text and an added BOS is never trained under completion.
 * A chat's range is extended to the end of the first special token at or after the range's end and
 * before the next range: the end-of-turn token the template writes after the assistant's content.
 * A token is special when decode(skip_special_tokens=True) drops it.
 */
public final class ExampleTokenizer {

  private final Tokenizer tokenizer;
  private final TrainOn trainOn;
  private final AddBos addBos;
  private final int bosId;
  private final int eosId;
  private final ConcurrentHashMap<Integer, Boolean> special = new ConcurrentHashMap<>();

  /**
   * @throws IllegalArgumentException when the configuration asks for a token the tokenizer lacks
   */
  public ExampleTokenizer(Tokenizer tokenizer, PrepConfig config) {
    this.tokenizer = tokenizer;
    this.trainOn = config.labels().trainOn();
    AddBos configured = config.labels().addBos();
    // transformers' Llama tokenizers apply tokenizer_config.json's add_bos_token over the
    // post-processor; auto follows it where it is set.
    this.addBos = configured != AddBos.AUTO ? configured
        : tokenizer.addBosToken().map(b -> b ? AddBos.TRUE : AddBos.FALSE).orElse(AddBos.AUTO);
    this.bosId = tokenizer.bosId().orElse(-1);
    this.eosId = eosId(tokenizer);
    if (addBos == AddBos.TRUE && bosId < 0) {
      throw new IllegalArgumentException("laketune.prep.labels.add_bos = true, but the tokenizer at "
          + tokenizer.modelDir() + " has no bos_token; set add_bos = auto or false.");
    }
    boolean usesEos = config.labels().addEos()
        && !RecordFormat.needsChatTemplate(config.format());
    if (usesEos && eosId < 0) {
      throw new IllegalArgumentException("laketune.prep.labels.add_eos = true, but the tokenizer at "
          + tokenizer.modelDir() + " has no eos_token; set add_eos = false.");
    }
  }

  public TokenizedDoc tokenize(Rendered example) {
    boolean addSpecial = !example.chat() && addBos != AddBos.FALSE;
    Encoding e = tokenizer.encodeWithOffsets(example.text(), addSpecial);
    int n = e.length();
    boolean prependBos = !example.chat() && addBos == AddBos.TRUE && (n == 0 || e.ids()[0] != bosId);
    int offset = prependBos ? 1 : 0;
    int total = offset + n + (example.appendEos() ? 1 : 0);
    int[] ids = new int[total];
    int[] labels = new int[total];
    Arrays.fill(labels, TokenizedDoc.IGNORE);
    if (prependBos) {
      ids[0] = bosId;
    }
    System.arraycopy(e.ids(), 0, ids, offset, n);
    boolean[] trained = trained(example, e);
    for (int i = 0; i < n; i++) {
      if (trained[i]) {
        labels[offset + i] = e.ids()[i];
      }
    }
    if (prependBos && trainOn == TrainOn.ALL) {
      labels[0] = bosId;
    }
    if (example.appendEos()) {
      ids[total - 1] = eosId;
      boolean lastTrained = trainOn == TrainOn.ALL
          || (example.spanEnds().length > 0
              && example.spanEnds()[example.spanEnds().length - 1] == example.text().length());
      labels[total - 1] = lastTrained ? eosId : TokenizedDoc.IGNORE;
    }
    return new TokenizedDoc(ids, labels);
  }

  private boolean[] trained(Rendered example, Encoding e) {
    int n = e.length();
    boolean[] trained = new boolean[n];
    if (trainOn == TrainOn.ALL) {
      Arrays.fill(trained, true);
      return trained;
    }
    int[] starts = e.starts();
    int[] ends = e.ends();
    int spans = example.spanStarts().length;
    int token = 0;
    for (int s = 0; s < spans; s++) {
      int from = example.spanStarts()[s];
      int to = example.spanEnds()[s];
      if (example.chat()) {
        int limit = s + 1 < spans ? example.spanStarts()[s + 1] : example.text().length();
        to = endOfTurn(e, to, limit);
      }
      while (token < n && (isAdded(starts, ends, token) || starts[token] < from)) {
        token++;
      }
      for (; token < n; token++) {
        if (isAdded(starts, ends, token)) {
          trained[token] = token > 0 && trained[token - 1];
        } else if (starts[token] < to) {
          trained[token] = true;
        } else {
          break;
        }
      }
    }
    // Added tokens after the last range (an end token of the post-processor) follow their text.
    for (; token < n; token++) {
      if (isAdded(starts, ends, token)) {
        trained[token] = token > 0 && trained[token - 1];
      }
    }
    return trained;
  }

  /** The end of the first special token starting in [contentEnd, limit), or contentEnd. */
  private int endOfTurn(Encoding e, int contentEnd, int limit) {
    for (int i = 0; i < e.length(); i++) {
      int start = e.starts()[i];
      if (start >= limit) {
        break;
      }
      if (start >= contentEnd && !isAdded(e.starts(), e.ends(), i) && isSpecial(e.ids()[i])) {
        return e.ends()[i];
      }
    }
    return contentEnd;
  }

  /** Added by the post-processor, not read from the text. */
  private static boolean isAdded(int[] starts, int[] ends, int i) {
    return starts[i] == ends[i];
  }

  private boolean isSpecial(int id) {
    return special.computeIfAbsent(id,
        k -> tokenizer.decode(new int[] {k}, true).isEmpty() && !tokenizer.decode(new int[] {k}, false).isEmpty());
  }

  /** Id of eos_token, or -1 when the tokenizer has none. */
  public static int eosId(Tokenizer tokenizer) {
    return tokenizer.specialToken("eos_token").map(t -> tokenizer.tokenId(t).orElse(-1)).orElse(-1);
  }
}
