package io.laketune.tokenizer;

import com.hubspot.jinjava.objects.SafeString;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Python's {@code json.dumps}, the body of the {@code tojson} filter that transformers installs
 * for chat templates: {@code json.dumps(x, ensure_ascii=False, indent=indent,
 * separators=separators, sort_keys=sort_keys)}. Tool schemas and tool-call arguments are rendered
 * through it, so spacing (", " and ": "), escapes and number formats must match Python's.
 */
final class PyJson {

  private final boolean ensureAscii;
  private final String indent;
  private final String itemSeparator;
  private final String keySeparator;
  private final boolean sortKeys;

  /**
   * @param indent null for one line, else the string for one level of indentation
   * @param separators null for Python's default: (", ", ": "), or (",", ": ") with an indent
   */
  PyJson(boolean ensureAscii, String indent, List<String> separators, boolean sortKeys) {
    this.ensureAscii = ensureAscii;
    this.indent = indent;
    this.itemSeparator =
        separators != null ? separators.get(0) : indent == null ? ", " : ",";
    this.keySeparator = separators != null ? separators.get(1) : ": ";
    this.sortKeys = sortKeys;
  }

  String dumps(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out, 0);
    return out.toString();
  }

  private void write(Object value, StringBuilder out, int level) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof Boolean) {
      out.append((boolean) value ? "true" : "false");
    } else if (value instanceof String || value instanceof SafeString || value instanceof Character) {
      writeString(value.toString(), out);
    } else if (value instanceof Double || value instanceof Float) {
      out.append(pythonFloat(((Number) value).doubleValue()));
    } else if (value instanceof Number) {
      out.append(value instanceof BigDecimal ? pythonFloat(((Number) value).doubleValue())
          : value.toString());
    } else if (value instanceof Map) {
      writeMap((Map<?, ?>) value, out, level);
    } else if (value instanceof Iterable || value instanceof Object[]) {
      Iterator<?> it =
          value instanceof Iterable ? ((Iterable<?>) value).iterator()
              : List.of((Object[]) value).iterator();
      writeArray(it, out, level);
    } else {
      throw new IllegalArgumentException(
          "Object of type " + value.getClass().getSimpleName() + " is not JSON serializable");
    }
  }

  private void writeMap(Map<?, ?> map, StringBuilder out, int level) {
    if (map.isEmpty()) {
      out.append("{}");
      return;
    }
    Map<?, ?> entries = sortKeys ? new TreeMap<>(map) : map;
    out.append('{');
    boolean first = true;
    for (Map.Entry<?, ?> e : entries.entrySet()) {
      out.append(first ? "" : itemSeparator);
      newline(out, level + 1);
      writeString(key(e.getKey()), out);
      out.append(keySeparator);
      write(e.getValue(), out, level + 1);
      first = false;
    }
    newline(out, level);
    out.append('}');
  }

  private void writeArray(Iterator<?> it, StringBuilder out, int level) {
    if (!it.hasNext()) {
      out.append("[]");
      return;
    }
    out.append('[');
    boolean first = true;
    while (it.hasNext()) {
      out.append(first ? "" : itemSeparator);
      newline(out, level + 1);
      write(it.next(), out, level + 1);
      first = false;
    }
    newline(out, level);
    out.append(']');
  }

  private void newline(StringBuilder out, int level) {
    if (indent != null) {
      out.append('\n').append(indent.repeat(level));
    }
  }

  /** Python converts keys that are numbers, booleans or None to strings. */
  private static String key(Object key) {
    if (key == null) {
      return "null";
    }
    if (key instanceof Boolean) {
      return (boolean) key ? "true" : "false";
    }
    if (key instanceof Double || key instanceof Float) {
      return pythonFloat(((Number) key).doubleValue());
    }
    return key.toString();
  }

  private void writeString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20 || (ensureAscii && c > 0x7e)) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /** Python's float repr: shortest digits, exponent form below 1e-4 and from 1e16 on. */
  static String pythonFloat(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
    BigInteger unscaled = exact.unscaledValue().abs();
    String digits = unscaled.toString();
    int exponent = digits.length() - 1 - exact.scale();
    String sign = d < 0 ? "-" : "";
    if (exponent < -4 || exponent >= 16) {
      String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      String exp = String.format("%s%02d", exponent < 0 ? "-" : "+", Math.abs(exponent));
      return sign + mantissa + "e" + exp;
    }
    String plain = exact.abs().toPlainString();
    return sign + (plain.contains(".") ? plain : plain + ".0");
  }

  /** Reads the keyword arguments of {@code tojson(...)}. */
  static PyJson fromKwargs(Map<String, Object> kwargs) {
    Object indent = kwargs.get("indent");
    String indentString = null;
    if (indent instanceof Number) {
      indentString = " ".repeat(((Number) indent).intValue());
    } else if (indent != null) {
      indentString = indent.toString();
    }
    List<String> separators = null;
    Object sep = kwargs.get("separators");
    if (sep instanceof Iterable) {
      separators = new ArrayList<>();
      for (Object o : (Iterable<?>) sep) {
        separators.add(o.toString());
      }
    }
    return new PyJson(
        Boolean.TRUE.equals(kwargs.get("ensure_ascii")),
        indentString,
        separators,
        Boolean.TRUE.equals(kwargs.get("sort_keys")));
  }
}
