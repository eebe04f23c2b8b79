package io.laketune.ml;

import java.util.List;

/**
 * The checks behind the ML params' setters and {@code transformSchema}: one sentence naming the
 * param, the value given and what is allowed.
 */
final class ParamChecks {
  private ParamChecks() {}

  static String choice(String owner, String param, String value, List<String> allowed) {
    if (value == null || !allowed.contains(value)) {
      throw new IllegalArgumentException(owner + " param " + param + " must be one of " + String.join(", ", allowed)
          + ", not '" + value + "'");
    }
    return value;
  }

  static double range(String owner, String param, double value, double min, double max) {
    if (!(value >= min && value <= max)) {
      throw new IllegalArgumentException(owner + " param " + param + " must be in [" + fmt(min) + ", " + fmt(max) + "], not "
          + fmt(value));
    }
    return value;
  }

  static String required(String owner, String param, String value, String what) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(owner + " param " + param + " is not set: give " + what + " (set" + Character.toUpperCase(
          param.charAt(0)) + param.substring(1) + ")");
    }
    return value;
  }

  private static String fmt(double x) {
    return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : Double.toString(x);
  }
}
