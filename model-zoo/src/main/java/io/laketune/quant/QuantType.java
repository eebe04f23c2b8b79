package io.laketune.quant;

/**
 * The two 4-bit data types of bitsandbytes: their 16 code values and the decision trees that pick a
 * code for a value already scaled into [-1, 1].
 *
 * <p>Code books: {@code bitsandbytes.functional.get_4bit_type('nf4' | 'fp4')} — the literals below as
 * float32, divided in float32 by their largest magnitude (1 for NF4, 12 for FP4). They equal the CUDA
 * dequantisation tables in csrc/kernels.cu ({@code nf4_dequantization_lut}, and {@code
 * fp4_dequantization_lut} with the sign in bit 3), which the tests check.
 *
 * <p>{@link #encode} is the CUDA kernel's tree ({@code dQuantizeNF4}, {@code dQuantizeFP4}) written
 * out literally, strict {@code x > threshold} comparisons and all: a value exactly on a threshold takes
 * the lower branch; NaN fails every comparison (code 0 for both types); FP4's sign is {@code x < 0}, so
 * -0.0 codes as +0. It is the oracle for {@link CodeTable}, the table-driven encoder the bulk path uses.
 */
public enum QuantType {
  NF4("nf4", new float[] {
      -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
      -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
      0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
      0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f}),
  FP4("fp4", fp4Codebook());

  private final String bnbName;
  private final float[] codebook;

  QuantType(String bnbName, float[] codebook) {
    this.bnbName = bnbName;
    this.codebook = codebook;
  }

  /** get_4bit_type('fp4'): sign bit 3, then 2 exponent bits and 1 mantissa bit, divided by 12. */
  private static float[] fp4Codebook() {
    float[] raw = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f, -0f, -0.0625f, -8f, -12f, -4f, -6f, -2f, -3f};
    float[] c = new float[16];
    for (int i = 0; i < 16; i++) c[i] = raw[i] / 12f;
    return c;
  }

  /** The name bitsandbytes and transformers use: "nf4" or "fp4". */
  public String bnbName() {
    return bnbName;
  }

  /** The 16 code values, indexed by code (a copy). */
  public float[] codebook() {
    return codebook.clone();
  }

  float[] codebookShared() {
    return codebook;
  }

  /** The value of {@code code} (0..15) before scaling by the block's absmax. */
  public float decode(int code) {
    return codebook[code & 0x0F];
  }

  /** The 4-bit code bitsandbytes' CUDA kernel gives the scaled value {@code x}. */
  public int encode(float x) {
    return this == NF4 ? encodeNf4(x) : encodeFp4(x);
  }

  /** The type named {@code name} ("nf4" or "fp4"); anything else is an error naming {@code what}. */
  public static QuantType fromBnbName(String name, String what) {
    for (QuantType t : values()) {
      if (t.bnbName.equals(name)) return t;
    }
    throw new IllegalArgumentException(what + " is '" + name + "'; laketune reads and writes the 4-bit types"
        + " \"nf4\" and \"fp4\"");
  }

  /** kernels.cu dQuantizeNF4: the thresholds are the midpoints of adjacent NF4 codes. */
  private static int encodeNf4(float x) {
    if (x > 0.03979014977812767f) {
      if (x > 0.3893125355243683f) {
        if (x > 0.6427869200706482f) return x > 0.8614784181118011f ? 0b1111 : 0b1110;
        return x > 0.5016634166240692f ? 0b1101 : 0b1100;
      }
      if (x > 0.2035212516784668f) return x > 0.2920137718319893f ? 0b1011 : 0b1010;
      return x > 0.1202552504837513f ? 0b1001 : 0b1000;
    }
    if (x > -0.33967943489551544f) {
      if (x > -0.13791173323988914f) return x > -0.045525018125772476f ? 0b0111 : 0b0110;
      return x > -0.23460740596055984f ? 0b0101 : 0b0100;
    }
    if (x > -0.6106329262256622f) return x > -0.4599952697753906f ? 0b0011 : 0b0010;
    return x > -0.8480964004993439f ? 0b0001 : 0b0000;
  }

  /** kernels.cu dQuantizeFP4: sign bit from x < 0, then a tree on |x| with thresholds divided by 12. */
  private static int encodeFp4(float x) {
    int sign = x < 0 ? 0b1000 : 0;
    float a = Math.abs(x);
    if (a > 0.29166667f) {
      if (a > 0.583333f) return (a > 0.8333333f ? 0b0011 : 0b0010) + sign;
      return (a > 0.4166667f ? 0b0101 : 0b0100) + sign;
    }
    if (a > 0.0859375f) return (a > 0.20833333f ? 0b0111 : 0b0110) + sign;
    return (a > 0.00260417f ? 0b0001 : 0b0000) + sign;
  }
}
