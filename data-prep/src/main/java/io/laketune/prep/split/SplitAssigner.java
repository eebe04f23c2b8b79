package io.laketune.prep.split;

/**
 * Train or validation, from a 64-bit hash of the split key (content hash or id field): validation
 * when the hash, read as a fraction of 2⁶⁴, is below split.validation_fraction. Independent of the
 * seed, the order and the number of files, so an example keeps its split when data is added.
 */
public final class SplitAssigner {

  public static final String TRAIN = "train";
  public static final String VALIDATION = "validation";

  private SplitAssigner() {}

  public static boolean isValidation(long keyHash, double validationFraction) {
    double unit = (keyHash >>> 11) * 0x1.0p-53;
    return unit < validationFraction;
  }

  /** Hash of an id field's value (its JSON text: "7" and 7 are different ids). */
  public static long idHash(String jsonText) {
    return ContentHash.sha128("id\0" + jsonText)[0];
  }
}
