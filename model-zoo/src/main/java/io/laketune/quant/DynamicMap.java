package io.laketune.quant;

/**
 * The signed 8-bit dynamic code of bitsandbytes ({@code functional.create_dynamic_map(signed=True)}),
 * which double quantisation uses for the block absmax values, and the kernel's search for the code of
 * a scaled value.
 *
 * <p>The 256 sorted values: 0, 1, and ±10^(e-6) times the midpoints of {@code linspace(0.1, 1, 2^e + 1)}
 * for e = 0..6. They are tabulated as float32 bit patterns (bitsandbytes computes them with torch's
 * linspace, whose last bits are an implementation detail of torch; these are torch 1.13's, checked
 * against make_quant_fixtures.py). The map is odd: code i and code 254 - i are negatives (code 127 is
 * 0, code 255 is 1.0 and has no negative partner; code 0 is -0.99297). Checkpoints carry their own copy
 * as {@code nested_quant_map}, which dequantisation uses.
 */
final class DynamicMap {
  /** Codes 128..255 (code 127 is 0, codes 0..126 are their negatives). */
  private static final int[] POSITIVE_BITS = {
      0x3513a3b7, 0x365a1a94, 0x370205ff, 0x37b24206, 0x38378034, 0x388aefb3, 0x38ba1f4b, 0x3923d70b,
      0x398ce705, 0x39c7e283, 0x3a016f01, 0x3a1eecc1, 0x3a3c6a80, 0x3a59e83e, 0x3a7765ff, 0x3aa7ef9d,
      0x3af1a9fc, 0x3b1db22d, 0x3b428f5c, 0x3b676c8a, 0x3b8624dd, 0x3b989374, 0x3bab020d, 0x3bbd70a4,
      0x3bcfdf3b, 0x3be24dd3, 0x3bf4bc6a, 0x3c039581, 0x3c0ccccd, 0x3c160418, 0x3c1f3b64, 0x3c3ae148,
      0x3c68f5c3, 0x3c8b851f, 0x3ca28f5c, 0x3cb9999a, 0x3cd0a3d7, 0x3ce7ae13, 0x3cfeb852, 0x3d0ae147,
      0x3d166667, 0x3d21eb85, 0x3d2d70a3, 0x3d38f5c3, 0x3d447ae1, 0x3d500000, 0x3d5b851f, 0x3d670a3d,
      0x3d728f5d, 0x3d7e147a, 0x3d84cccd, 0x3d8a8f5d, 0x3d9051eb, 0x3d96147b, 0x3d9bd70a, 0x3da1999a,
      0x3da75c28, 0x3dad1eb8, 0x3db2e148, 0x3db8a3d7, 0x3dbe6667, 0x3dc428f5, 0x3dc9eb85, 0x3ddb3334,
      0x3df80000, 0x3e0a6666, 0x3e18cccd, 0x3e273333, 0x3e359999, 0x3e440000, 0x3e526666, 0x3e60cccd,
      0x3e6f3334, 0x3e7d999a, 0x3e860000, 0x3e8d3334, 0x3e946666, 0x3e9b999a, 0x3ea2cccc, 0x3eaa0000,
      0x3eb13332, 0x3eb86666, 0x3ebf999a, 0x3ec6cccc, 0x3ece0000, 0x3ed53332, 0x3edc6666, 0x3ee3999a,
      0x3eeacccc, 0x3ef20000, 0x3ef93334, 0x3f003333, 0x3f03cccd, 0x3f076666, 0x3f0b0000, 0x3f0e999a,
      0x3f123334, 0x3f15cccd, 0x3f196666, 0x3f1d0000, 0x3f20999a, 0x3f243333, 0x3f27cccd, 0x3f2b6667,
      0x3f2f0000, 0x3f32999a, 0x3f363334, 0x3f39cccd, 0x3f3d6667, 0x3f410000, 0x3f44999a, 0x3f483333,
      0x3f4bcccc, 0x3f4f6666, 0x3f530000, 0x3f569999, 0x3f5a3333, 0x3f5dcccc, 0x3f616666, 0x3f650000,
      0x3f68999a, 0x3f6c3333, 0x3f6fcccc, 0x3f736666, 0x3f770000, 0x3f7a9999, 0x3f7e3333, 0x3f800000,
  };

  private static final float[] SIGNED = build();

  private DynamicMap() {}

  private static float[] build() {
    float[] code = new float[256];
    for (int j = 0; j < 128; j++) code[128 + j] = Float.intBitsToFloat(POSITIVE_BITS[j]);
    for (int j = 0; j < 127; j++) code[126 - j] = -code[128 + j];
    return code;
  }

  /** The shared table; callers never modify it. */
  static float[] signed() {
    return SIGNED;
  }

  /**
   * kernels.cu {@code dQuantize<0>}: a binary search over the sorted {@code code} from pivot 127 with
   * steps 64..1 on {@code x > code[pivot]}, then the nearer of the pivot and its bracketing neighbour by
   * the float midpoint ({@code (upper + val) * 0.5f}); a value exactly on the midpoint keeps the pivot.
   * The brackets start at -1 and 1 and become code[0] / code[255] when the search never left that side.
   * NaN fails every comparison and ends at code 0.
   */
  static int quantize(float[] code, float x) {
    int pivot = 127;
    int upperPivot = 255;
    int lowerPivot = 0;
    float lower = -1.0f;
    float upper = 1.0f;
    float val = code[pivot];
    for (int i = 64; i > 0; i >>= 1) {
      if (x > val) {
        lowerPivot = pivot;
        lower = val;
        pivot += i;
      } else {
        upperPivot = pivot;
        upper = val;
        pivot -= i;
      }
      val = code[pivot];
    }
    if (upperPivot == 255) upper = code[upperPivot];
    if (lowerPivot == 0) lower = code[lowerPivot];
    if (x > val) {
      float midpoint = (upper + val) * 0.5f;
      return x > midpoint ? upperPivot : pivot;
    }
    float midpoint = (lower + val) * 0.5f;
    return x < midpoint ? lowerPivot : pivot;
  }
}
