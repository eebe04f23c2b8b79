package io.laketune.model;

/**
 * A micro-batch of B rows of T tokens, HF style.
 *
 * @param inputIds [B][T] token ids
 * @param attentionMask [B][T] 1 = token, 0 = padding; null = all tokens
 * @param labels [B][T] aligned with inputIds (the model shifts), -100 = ignored; null = no loss
 * @param positionIds [B][T]; null = 0..T-1 in every row (HF's default in forward)
 * @param segmentIds [B][T] document ids of packed rows (attention stays inside a document); null = none
 */
public record Batch(int[][] inputIds, int[][] attentionMask, int[][] labels, int[][] positionIds,
    int[][] segmentIds) {

  public Batch {
    if (inputIds == null || inputIds.length == 0 || inputIds[0].length == 0) {
      throw new IllegalArgumentException("a batch needs at least one row of at least one token");
    }
    int t = inputIds[0].length;
    check("input_ids", inputIds, inputIds.length, t);
    check("attention_mask", attentionMask, inputIds.length, t);
    check("labels", labels, inputIds.length, t);
    check("position_ids", positionIds, inputIds.length, t);
    check("segment_ids", segmentIds, inputIds.length, t);
  }

  private static void check(String name, int[][] a, int rows, int cols) {
    if (a == null) return;
    if (a.length != rows) {
      throw new IllegalArgumentException(name + " has " + a.length + " rows but input_ids has " + rows);
    }
    for (int i = 0; i < rows; i++) {
      if (a[i].length != cols) {
        throw new IllegalArgumentException(name + " row " + i + " has " + a[i].length
            + " entries but every row must have " + cols);
      }
    }
  }

  public static Batch of(int[][] inputIds, int[][] labels) {
    return new Batch(inputIds, null, labels, null, null);
  }

  public int batchSize() {
    return inputIds.length;
  }

  public int seqLen() {
    return inputIds[0].length;
  }

  /** Row-major ids [B*T]. */
  public int[] flatIds() {
    return flatten(inputIds);
  }

  /** Row-major positions [B*T]: positionIds, or 0..T-1 in each row. */
  public int[] flatPositions() {
    if (positionIds != null) return flatten(positionIds);
    int b = batchSize(), t = seqLen();
    int[] out = new int[b * t];
    for (int i = 0; i < out.length; i++) out[i] = i % t;
    return out;
  }

  static int[] flatten(int[][] a) {
    int t = a[0].length;
    int[] out = new int[a.length * t];
    for (int i = 0; i < a.length; i++) System.arraycopy(a[i], 0, out, i * t, t);
    return out;
  }
}
