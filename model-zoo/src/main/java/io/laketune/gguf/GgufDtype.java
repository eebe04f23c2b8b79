package io.laketune.gguf;

import java.util.Locale;

/**
 * The stored type of an export (convert_hf_to_gguf.py's --outtype) and its general.file_type
 * (llama_ftype): every 2-D weight gets this type; norms, biases, other 1-D tensors and GPT-2's
 * position embedding stay F32, and a Q8_0 weight whose rows are not a multiple of 32 falls back to
 * F16, as the converter does.
 */
public enum GgufDtype {
  F32(GgmlType.F32, 0),
  F16(GgmlType.F16, 1),
  BF16(GgmlType.BF16, 32),
  Q8_0(GgmlType.Q8_0, 7);

  private final GgmlType type;
  private final int fileType;

  GgufDtype(GgmlType type, int fileType) {
    this.type = type;
    this.fileType = fileType;
  }

  public GgmlType type() {
    return type;
  }

  /** llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32. */
  public int fileType() {
    return fileType;
  }

  /** f32, f16, bf16 or q8_0 (case-insensitive). */
  public static GgufDtype parse(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "f32", "float32", "fp32" -> F32;
      case "f16", "float16", "fp16" -> F16;
      case "bf16", "bfloat16" -> BF16;
      case "q8_0" -> Q8_0;
      default -> throw new IllegalArgumentException("--dtype for GGUF must be f32, f16, bf16 or q8_0, got '" + s + "'");
    };
  }

  /** The stored type of a tensor of GGUF name {@code name} and row-major shape {@code shape}. */
  GgmlType typeOf(String name, long[] shape) {
    if (shape.length <= 1 || name.endsWith("_norm.weight") || name.equals("position_embd.weight")) return GgmlType.F32;
    if (!(name.endsWith(".weight") || name.endsWith(".lora_a") || name.endsWith(".lora_b"))) return GgmlType.F32;
    if (!type.fitsRow(shape[shape.length - 1])) return GgmlType.F16;
    return type;
  }
}
