package io.laketune.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Rewrites a jinja2 template into one that Jinjava 2.8 renders the same way.
 *
 * <ul>
 *   <li>Line ends: jinja2's lexer turns \r\n and \r into \n and drops one newline at the very
 *       end of the template (keep_trailing_newline=False). Jinjava's own option for this strips
 *       the last newline of the output instead, which would eat the "\n" of Qwen's {@code
 *       '<|im_start|>assistant\n'}.
 *   <li>lstrip_blocks: spaces and tabs before a block tag or comment that starts a line are
 *       dropped ({@code {%+} keeps them). Jinjava's own lstripBlocks also strips them before a
 *       tag in the middle of a line.
 *   <li>Slices with a step, {@code messages[::-1]} (Qwen 2.5/3): Jinjava's parser knows only
 *       {@code [a:b]}. Rewritten to {@code (messages|pyslice(none, none, -1))}.
 *   <li>Keyword arguments whose value is an expression, {@code namespace(i=messages|length - 1)}
 *       (Qwen 3): Jinjava binds {@code =} tighter than {@code -} and evaluates {@code (i=2) - 1}.
 *       Rewritten to {@code namespace(i=(messages|length - 1))}.
 * </ul>
 *
 * Slices and keyword arguments are rewritten only inside {@code {{ }}} and {@code {% %}}, not in
 * comments, raw blocks or text. Macro signatures are left alone: Jinjava parses their defaults
 * itself.
 */
final class TemplateRewriter {

  /** Words after which "(" or "[" opens a group or a list, not a call or a subscript. */
  private static final Set<String> KEYWORDS =
      Set.of(
          "and", "or", "not", "in", "is", "if", "elif", "else", "for", "set", "with", "print",
          "return", "import", "from", "as", "macro", "call", "filter", "recursive");

  private static final Set<String> TWO_CHAR_OPERATORS = Set.of("==", "!=", "<=", ">=", "//", "**");

  private TemplateRewriter() {}

  static String rewrite(String template) {
    String source = template.replace("\r\n", "\n").replace('\r', '\n');
    if (source.endsWith("\n")) {
      source = source.substring(0, source.length() - 1);
    }
    StringBuilder out = new StringBuilder(source.length() + 64);
    int i = 0;
    while (i < source.length()) {
      int open = source.indexOf('{', i);
      if (open < 0 || open + 1 >= source.length()) {
        out.append(source, i, source.length());
        break;
      }
      char kind = source.charAt(open + 1);
      if (kind != '#' && kind != '{' && kind != '%') {
        out.append(source, i, open + 1);
        i = open + 1;
        continue;
      }
      boolean keepIndent = kind == '{' || (open + 2 < source.length() && source.charAt(open + 2) == '+');
      out.append(source, i, keepIndent ? open : lineIndentStart(source, i, open));
      out.append('{').append(kind);
      int bodyStart = open + (open + 2 < source.length() && source.charAt(open + 2) == '+' ? 3 : 2);
      if (kind == '#') {
        int end = source.indexOf("#}", bodyStart);
        end = end < 0 ? source.length() : end + 2;
        out.append(source, bodyStart, end);
        i = end;
        continue;
      }
      int bodyEnd = findClose(source, bodyStart, kind == '{' ? "}}" : "%}");
      String body = source.substring(bodyStart, bodyEnd);
      if (kind == '%' && firstWord(body).equals("raw")) {
        int endRaw = findEndRaw(source, bodyEnd);
        out.append(source, bodyStart, endRaw);
        i = endRaw;
        continue;
      }
      out.append(rewriteExpression(body, kind == '%' && firstWord(body).equals("macro")));
      i = bodyEnd;
    }
    return out.toString();
  }

  /**
   * lstrip_blocks: where a block tag or comment is the first thing on its line, the spaces and
   * tabs before it go. Returns where the text before the tag at {@code open} should end.
   */
  private static int lineIndentStart(String source, int textStart, int open) {
    int k = open;
    while (k > textStart && (source.charAt(k - 1) == ' ' || source.charAt(k - 1) == '\t')) {
      k--;
    }
    return k == 0 || source.charAt(k - 1) == '\n' ? k : open;
  }

  /** Index of the closing delimiter of a tag, skipping string literals; end of input if none. */
  private static int findClose(String s, int from, String close) {
    int i = from;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '\'' || c == '"') {
        i = skipString(s, i);
      } else if (s.startsWith(close, i)) {
        return i;
      } else {
        i++;
      }
    }
    return s.length();
  }

  private static int findEndRaw(String s, int from) {
    int i = from;
    while (true) {
      int open = s.indexOf("{%", i);
      if (open < 0) {
        return s.length();
      }
      int close = findClose(s, open + 2, "%}");
      if (firstWord(s.substring(open + 2, close)).equals("endraw")) {
        return open;
      }
      i = close;
    }
  }

  private static int skipString(String s, int quoteAt) {
    char quote = s.charAt(quoteAt);
    int i = quoteAt + 1;
    while (i < s.length() && s.charAt(i) != quote) {
      i += s.charAt(i) == '\\' ? 2 : 1;
    }
    return Math.min(i + 1, s.length());
  }

  private static String firstWord(String body) {
    int i = 0;
    while (i < body.length() && (body.charAt(i) == '-' || body.charAt(i) == '+'
        || Character.isWhitespace(body.charAt(i)))) {
      i++;
    }
    int start = i;
    while (i < body.length() && Character.isJavaIdentifierPart(body.charAt(i))) {
      i++;
    }
    return body.substring(start, i);
  }

  /**
   * Names of the filters the template applies ({@code x|tojson} gives "tojson"). jinja2 rejects
   * an unknown filter when it compiles a template; Jinjava quietly skips it, so the caller checks.
   */
  static Set<String> filterNames(String template) {
    Set<String> names = new TreeSet<>();
    int i = 0;
    while ((i = template.indexOf('{', i)) >= 0 && i + 1 < template.length()) {
      char kind = template.charAt(i + 1);
      if (kind != '{' && kind != '%') {
        i++;
        continue;
      }
      int end = findClose(template, i + 2, kind == '{' ? "}}" : "%}");
      List<String> tokens = lex(template.substring(i + 2, end));
      for (int k = 0; k < tokens.size(); k++) {
        int next = nextNonSpace(tokens, k + 1, tokens.size());
        if (tokens.get(k).equals("|") && next >= 0 && isName(tokens.get(next))) {
          names.add(tokens.get(next));
        }
      }
      i = end;
    }
    return names;
  }

  private static String rewriteExpression(String body, boolean isMacro) {
    List<String> tokens = lex(body);
    boolean changed = rewriteStepSlices(tokens);
    if (!isMacro) {
      changed |= parenthesizeKeywordValues(tokens);
    }
    return changed ? String.join("", tokens) : body;
  }

  /** Splits an expression into strings, names, numbers, operators and whitespace runs. */
  static List<String> lex(String s) {
    List<String> tokens = new ArrayList<>();
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      int end;
      if (c == '\'' || c == '"') {
        end = skipString(s, i);
      } else if (Character.isWhitespace(c)) {
        end = i + 1;
        while (end < s.length() && Character.isWhitespace(s.charAt(end))) {
          end++;
        }
      } else if (Character.isJavaIdentifierPart(c)) {
        end = i + 1;
        while (end < s.length() && Character.isJavaIdentifierPart(s.charAt(end))) {
          end++;
        }
      } else if (i + 1 < s.length() && TWO_CHAR_OPERATORS.contains(s.substring(i, i + 2))) {
        end = i + 2;
      } else {
        end = i + 1;
      }
      tokens.add(s.substring(i, end));
      i = end;
    }
    return tokens;
  }

  /** {@code x[a:b:c]} becomes {@code (x|pyslice(a, b, c))}; returns whether anything changed. */
  private static boolean rewriteStepSlices(List<String> tokens) {
    boolean changed = false;
    for (int open = 0; open < tokens.size(); open++) {
      if (!tokens.get(open).equals("[")) {
        continue;
      }
      int close = matchForward(tokens, open);
      if (close < 0) {
        return changed;
      }
      List<List<String>> parts = splitTopLevel(tokens, open + 1, close, ":");
      if (parts.size() != 3) {
        continue;
      }
      int start = operandStart(tokens, open);
      if (start < 0) {
        continue;
      }
      StringBuilder call = new StringBuilder("(");
      for (int k = start; k < open; k++) {
        call.append(tokens.get(k));
      }
      call.append("|pyslice(");
      for (int p = 0; p < 3; p++) {
        String part = String.join("", parts.get(p)).strip();
        call.append(p > 0 ? ", " : "").append(part.isEmpty() ? "none" : part);
      }
      call.append("))");
      tokens.subList(start, close + 1).clear();
      tokens.add(start, call.toString());
      open = start;
      changed = true;
    }
    return changed;
  }

  /** Wraps the value of each keyword argument of a call in parentheses. */
  private static boolean parenthesizeKeywordValues(List<String> tokens) {
    boolean changed = false;
    for (int open = 0; open < tokens.size(); open++) {
      if (!tokens.get(open).equals("(") || !isPostfixOpener(tokens, open)) {
        continue;
      }
      int close = matchForward(tokens, open);
      if (close < 0) {
        return changed;
      }
      int argStart = open + 1;
      for (int k = open + 1; k <= close; k++) {
        String t = tokens.get(k);
        if (t.equals("(") || t.equals("[") || t.equals("{")) {
          k = matchForward(tokens, k);
          if (k < 0) {
            return changed;
          }
          continue;
        }
        if (!t.equals(",") && k != close) {
          continue;
        }
        int name = nextNonSpace(tokens, argStart, k);
        int eq = name < 0 ? -1 : nextNonSpace(tokens, name + 1, k);
        int value = eq < 0 ? -1 : nextNonSpace(tokens, eq + 1, k);
        if (value >= 0 && isName(tokens.get(name)) && tokens.get(eq).equals("=")
            && lastNonSpace(tokens, value, k) > value) {
          int last = lastNonSpace(tokens, value, k);
          tokens.add(last + 1, ")");
          tokens.add(value, "(");
          close += 2;
          k += 2;
          changed = true;
        }
        argStart = k + 1;
      }
    }
    return changed;
  }

  /** Whether the bracket at {@code open} follows an operand: a call or a subscript. */
  private static boolean isPostfixOpener(List<String> tokens, int open) {
    int prev = prevNonSpace(tokens, open);
    if (prev < 0) {
      return false;
    }
    String t = tokens.get(prev);
    return t.equals(")") || t.equals("]") || (isName(t) && !KEYWORDS.contains(t)) || isString(t);
  }

  /** First token of the postfix expression (name, attributes, calls, subscripts) before open. */
  private static int operandStart(List<String> tokens, int open) {
    int p = prevNonSpace(tokens, open);
    while (p >= 0) {
      String t = tokens.get(p);
      if (t.equals(")") || t.equals("]")) {
        p = matchBackward(tokens, p);
        if (p < 0) {
          return -1;
        }
      } else if (!(isName(t) && !KEYWORDS.contains(t)) && !isString(t)) {
        return -1;
      }
      int q = prevNonSpace(tokens, p);
      if (q >= 0 && tokens.get(q).equals(".")) {
        p = prevNonSpace(tokens, q);
      } else if ((tokens.get(p).equals("(") || tokens.get(p).equals("["))
          && isPostfixOpener(tokens, p)) {
        p = q;
      } else {
        return p;
      }
    }
    return -1;
  }

  private static List<List<String>> splitTopLevel(
      List<String> tokens, int from, int to, String separator) {
    List<List<String>> parts = new ArrayList<>();
    List<String> part = new ArrayList<>();
    for (int k = from; k < to; k++) {
      String t = tokens.get(k);
      if (t.equals("(") || t.equals("[") || t.equals("{")) {
        int end = matchForward(tokens, k);
        if (end < 0) {
          return List.of();
        }
        part.addAll(tokens.subList(k, end + 1));
        k = end;
      } else if (t.equals(separator)) {
        parts.add(part);
        part = new ArrayList<>();
      } else {
        part.add(t);
      }
    }
    parts.add(part);
    return parts;
  }

  private static int matchForward(List<String> tokens, int open) {
    int depth = 0;
    for (int k = open; k < tokens.size(); k++) {
      String t = tokens.get(k);
      if (t.equals("(") || t.equals("[") || t.equals("{")) {
        depth++;
      } else if (t.equals(")") || t.equals("]") || t.equals("}")) {
        depth--;
        if (depth == 0) {
          return k;
        }
      }
    }
    return -1;
  }

  private static int matchBackward(List<String> tokens, int close) {
    int depth = 0;
    for (int k = close; k >= 0; k--) {
      String t = tokens.get(k);
      if (t.equals(")") || t.equals("]") || t.equals("}")) {
        depth++;
      } else if (t.equals("(") || t.equals("[") || t.equals("{")) {
        depth--;
        if (depth == 0) {
          return k;
        }
      }
    }
    return -1;
  }

  private static int prevNonSpace(List<String> tokens, int k) {
    for (int p = k - 1; p >= 0; p--) {
      if (!tokens.get(p).isBlank()) {
        return p;
      }
    }
    return -1;
  }

  private static int nextNonSpace(List<String> tokens, int from, int to) {
    for (int p = from; p < to; p++) {
      if (!tokens.get(p).isBlank()) {
        return p;
      }
    }
    return -1;
  }

  private static int lastNonSpace(List<String> tokens, int from, int to) {
    for (int p = to - 1; p >= from; p--) {
      if (!tokens.get(p).isBlank()) {
        return p;
      }
    }
    return -1;
  }

  private static boolean isName(String t) {
    return !t.isEmpty() && Character.isJavaIdentifierStart(t.charAt(0));
  }

  private static boolean isString(String t) {
    return t.startsWith("'") || t.startsWith("\"");
  }
}
