package io.laketune.tokenizer;

import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.expression.ExpressionStrategy;
import com.hubspot.jinjava.mode.ExecutionMode;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes the value of {@code {{ expression }}} as jinja2 does, with Python's {@code str()}:
 * {@code True}/{@code False} rather than Jinjava's {@code true}/{@code false}, floats as Python
 * prints them, lists and dicts as Python reprs ({@code ['a', 1]}, {@code {'k': None}}).
 *
 * <p>One difference stays: Jinjava cannot tell an undefined variable from a None value, so None
 * prints as the empty string (jinja2 prints "None").
 *
 * <p>Installed as Jinjava's execution mode, whose only job here is to set this expression
 * strategy on each render's context.
 */
final class PyOutput implements ExecutionMode, ExpressionStrategy {

  private static final long serialVersionUID = 1L;

  @Override
  public void prepareContext(Context context) {
    context.setExpressionStrategy(this);
  }

  @Override
  public RenderedOutputNode interpretOutput(ExpressionToken token, JinjavaInterpreter interpreter) {
    Object value = interpreter.resolveELExpression(token.getExpr(), token.getLineNumber());
    return new RenderedOutputNode(str(value));
  }

  /** Python's str(value); null is the empty string (see the class comment). */
  static String str(Object value) {
    if (value == null) {
      return "";
    }
    if (value instanceof String || value instanceof SafeString) {
      return value.toString();
    }
    return repr(value);
  }

  private static String repr(Object value) {
    if (value == null) {
      return "None";
    }
    if (value instanceof Boolean) {
      return (boolean) value ? "True" : "False";
    }
    if (value instanceof Double || value instanceof Float) {
      String s = PyJson.pythonFloat(((Number) value).doubleValue());
      return s.equals("NaN") ? "nan" : s.equals("Infinity") ? "inf" : s.equals("-Infinity") ? "-inf" : s;
    }
    if (value instanceof String || value instanceof SafeString) {
      return quote(value.toString());
    }
    if (value instanceof Map) {
      StringBuilder out = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        out.append(out.length() > 1 ? ", " : "").append(repr(e.getKey())).append(": ");
        out.append(repr(e.getValue()));
      }
      return out.append('}').toString();
    }
    if (value instanceof Iterable || value instanceof Object[]) {
      Iterator<?> it =
          value instanceof Iterable ? ((Iterable<?>) value).iterator()
              : java.util.Arrays.asList((Object[]) value).iterator();
      StringBuilder out = new StringBuilder("[");
      while (it.hasNext()) {
        out.append(out.length() > 1 ? ", " : "").append(repr(it.next()));
      }
      return out.append(']').toString();
    }
    return value.toString();
  }

  /** Python's repr of a str: single quotes unless the text has ' and no ". */
  private static String quote(String s) {
    char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder out = new StringBuilder().append(q);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == q || c == '\\') {
        out.append('\\').append(c);
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (c == '\t') {
        out.append("\\t");
      } else if (c < 0x20 || c == 0x7f) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append(q).toString();
  }
}
