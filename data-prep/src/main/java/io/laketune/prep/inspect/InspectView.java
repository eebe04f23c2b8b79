package io.laketune.prep.inspect;

import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.tokenize.TokenizedDoc;
import io.laketune.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * What {@code laketune inspect} prints for one row, like Axolotl's preprocess debug view: each
 * document as text with the trained spans marked, then one line per token with its id, label,
 * position and segment. Trained text is wrapped in ⟦ ⟧ (or shown green on a terminal); a label of
 * -100 means the token is not trained on.
 */
public final class InspectView {

  private static final String GREEN = "\u001b[32m";
  private static final String RESET = "\u001b[0m";

  private final Tokenizer tokenizer;
  private final PrintStream out;
  private final boolean colour;
  private final boolean table;

  /**
   * @param colour ANSI colours instead of ⟦ ⟧ markers
   * @param table whether to print the per-token table
   */
  public record Options(boolean colour, boolean table) {}

  public InspectView(Tokenizer tokenizer, PrintStream out, boolean colour, boolean table) {
    this.tokenizer = tokenizer;
    this.out = out;
    this.colour = colour;
    this.table = table;
  }

  /** A stored row: its documents one after another. */
  public void row(String title, PackedRow row) {
    out.printf(Locale.ROOT, "── %s: %d tokens, %d document%s, %d trained ──%n", title, row.length(),
        row.docLens().length, row.docLens().length == 1 ? "" : "s", row.trainedTokens());
    int at = 0;
    for (int d = 0; d < row.docLens().length; d++) {
      int len = row.docLens()[d];
      out.printf(Locale.ROOT, "document %d of %d: tokens %d–%d%n", d + 1, row.docLens().length, at, at + len - 1);
      document(Arrays.copyOfRange(row.ids(), at, at + len), Arrays.copyOfRange(row.labels(), at, at + len), at, d + 1);
      at += len;
    }
    out.println();
  }

  /** An example straight from the input, before packing. */
  public void example(String title, TokenizedDoc doc) {
    out.printf(Locale.ROOT, "── %s: %d tokens, %d trained ──%n", title, doc.length(), doc.trainedTokens());
    document(doc.ids(), doc.labels(), 0, 1);
    out.println();
  }

  private void document(int[] ids, int[] labels, int offset, int segment) {
    StringBuilder text = new StringBuilder();
    int start = 0;
    while (start < ids.length) {
      boolean trained = labels[start] != -100;
      int end = start;
      while (end < ids.length && (labels[end] != -100) == trained) {
        end++;
      }
      String piece = tokenizer.decode(Arrays.copyOfRange(ids, start, end), false);
      if (trained) {
        text.append(colour ? GREEN : "⟦").append(piece).append(colour ? RESET : "⟧");
      } else {
        text.append(piece);
      }
      start = end;
    }
    out.println(text);
    if (!table) {
      return;
    }
    out.printf(Locale.ROOT, "  %6s %8s %8s %5s %4s  %s%n", "index", "id", "label", "pos", "seg", "token");
    for (int i = 0; i < ids.length; i++) {
      out.printf(Locale.ROOT, "  %6d %8d %8d %5d %4d  %s%n", offset + i, ids[i], labels[i], i, segment,
          quote(tokenizer.decode(new int[] {ids[i]}, false)));
    }
  }

  /** The token's text with line breaks, tabs and other control characters escaped, in quotes. */
  static String quote(String token) {
    StringBuilder s = new StringBuilder("'");
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      switch (c) {
        case '\n' -> s.append("\\n");
        case '\t' -> s.append("\\t");
        case '\r' -> s.append("\\r");
        case '\'' -> s.append("\\'");
        default -> {
          if (Character.isISOControl(c)) {
            s.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            s.append(c);
          }
        }
      }
    }
    return s.append('\'').toString();
  }
}
