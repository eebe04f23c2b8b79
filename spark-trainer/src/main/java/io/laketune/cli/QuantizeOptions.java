package io.laketune.cli;

import io.laketune.quant.ModelQuantizer;
import io.laketune.quant.QuantType;
import java.util.Locale;
import picocli.CommandLine.Option;

/** {@code --quantize nf4|fp4 [--double-quant]}: pack the base model's frozen linear weights to 4 bits. */
final class QuantizeOptions {
  @Option(names = "--quantize", description = "Pack the base's linear weights to 4 bits: nf4 or fp4 (blocksize 64, as bitsandbytes).")
  String type;

  @Option(names = "--double-quant", description = "Also quantise the 4-bit block scales (bitsandbytes double quantisation).")
  boolean doubleQuant;

  /** The settings, or null when no quantisation was asked for. */
  ModelQuantizer.Settings settings() {
    if (type == null) {
      if (doubleQuant) throw new IllegalArgumentException("--double-quant needs --quantize nf4 or fp4");
      return null;
    }
    QuantType t = switch (type.toLowerCase(Locale.ROOT)) {
      case "nf4" -> QuantType.NF4;
      case "fp4" -> QuantType.FP4;
      default -> throw new IllegalArgumentException("--quantize must be nf4 or fp4, got '" + type + "'");
    };
    return new ModelQuantizer.Settings(t, 64, doubleQuant);
  }
}
