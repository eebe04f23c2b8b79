package io.laketune.prep.reader;

import java.io.Serializable;

/**
 * Where a worker is in its stream: the epoch, and how many of the worker's rows of that epoch it
 * has consumed. Saved with a checkpoint, it resumes the same stream exactly.
 *
 * @param epoch 0-based epoch
 * @param position rows of this worker's share of the epoch already yielded
 */
public record Cursor(int epoch, long position) implements Serializable {

  public Cursor {
    if (epoch < 0 || position < 0) {
      throw new IllegalArgumentException("a cursor has a non-negative epoch and position: " + epoch + ", " + position);
    }
  }

  /** The start of an epoch. */
  public static Cursor start(int epoch) {
    return new Cursor(epoch, 0);
  }

  /** "epoch:position", the form {@link #parse} reads. */
  @Override
  public String toString() {
    return epoch + ":" + position;
  }

  public static Cursor parse(String text) {
    int colon = text.indexOf(':');
    try {
      return new Cursor(Integer.parseInt(text.substring(0, colon)), Long.parseLong(text.substring(colon + 1)));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("\"" + text + "\" is not a data cursor; it looks like 3:1024 (epoch:rows).", e);
    }
  }
}
