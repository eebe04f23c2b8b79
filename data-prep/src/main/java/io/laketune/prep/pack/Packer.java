package io.laketune.prep.pack;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.tokenize.TokenizedDoc;
import java.util.function.Consumer;

/**
 * Puts documents (each at most seq_len tokens) into rows of at most seq_len tokens, in the order
 * given, and hands each finished row to a consumer. Deterministic: the same documents in the same
 * order give the same rows in the same order.
 */
public interface Packer {

  void add(TokenizedDoc doc);

  /** Writes out the rows still open. */
  void finish();

  static Packer of(PrepConfig.Pack pack, int seqLen, Consumer<PackedRow> out) {
    return switch (pack.mode()) {
      case GREEDY -> new GreedyPacker(seqLen, out);
      case BEST_FIT -> new BestFitPacker(seqLen, pack.openRows(), out);
      case NONE -> new GreedyPacker(0, out);
    };
  }
}
