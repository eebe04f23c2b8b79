package io.laketune.prep.pack;

import io.laketune.prep.tokenize.TokenizedDoc;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * pack.mode = best_fit: each document goes into the open row whose free room is the smallest that
 * still holds it (the oldest such row on a tie); if none does, a new row opens. At most openRows
 * rows are open: opening one more first writes out the fullest. A row that is exactly full is
 * written at once; the rest are written by age at the end.
 *
 * <p>Memory: up to openRows × seq_len tokens. Time: O(log openRows) per document.
 */
final class BestFitPacker implements Packer {

  private final int capacity;
  private final int openRows;
  private final Consumer<PackedRow> out;
  /** Free room → rows with that much room, oldest first. */
  private final TreeMap<Integer, ArrayDeque<RowBuilder>> byRoom = new TreeMap<>();
  private int open;
  private long sequence;

  BestFitPacker(int capacity, int openRows, Consumer<PackedRow> out) {
    this.capacity = capacity;
    this.openRows = openRows;
    this.out = out;
  }

  @Override
  public void add(TokenizedDoc doc) {
    Map.Entry<Integer, ArrayDeque<RowBuilder>> fit = byRoom.ceilingEntry(doc.length());
    RowBuilder row;
    if (fit != null) {
      row = take(fit.getKey());
    } else {
      if (open == openRows) {
        out.accept(take(byRoom.firstKey()).build());
        open--;
      }
      row = new RowBuilder(sequence++);
      open++;
    }
    row.add(doc);
    if (row.length() == capacity) {
      open--;
      out.accept(row.build());
    } else {
      byRoom.computeIfAbsent(capacity - row.length(), k -> new ArrayDeque<>()).addLast(row);
    }
  }

  /** Removes the oldest row with this much room from the index (it stays counted as open). */
  private RowBuilder take(int room) {
    ArrayDeque<RowBuilder> rows = byRoom.get(room);
    RowBuilder row = rows.pollFirst();
    if (rows.isEmpty()) {
      byRoom.remove(room);
    }
    return row;
  }

  @Override
  public void finish() {
    byRoom.values().stream()
        .flatMap(ArrayDeque::stream)
        .sorted(Comparator.comparingLong(r -> r.sequence))
        .forEach(r -> out.accept(r.build()));
    byRoom.clear();
    open = 0;
  }
}
