package io.laketune.tokenizer;

import com.hubspot.jinjava.objects.SafeString;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods and indexing for Jinjava, which otherwise calls the Java method of
 * the same name: {@code 'a'.startswith('a')} fails, and {@code s.split('x')} would split on a
 * regular expression and drop trailing empty strings. Chat templates call these on message
 * content, so they must behave exactly as in Python.
 *
 * <p>Sits first in the resolver chain and resolves only method calls on strings with a name it
 * knows, and integer subscripts of strings ({@code s[-1]}); everything else passes through.
 */
final class PyStringMethods extends ELResolver {

  @Override
  public Object invoke(
      ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
    if (!(base instanceof String || base instanceof SafeString) || !(method instanceof String)) {
      return null;
    }
    String s = base.toString();
    Object[] args = params == null ? new Object[0] : params;
    Object result = call(s, (String) method, args);
    if (result != NOT_A_METHOD) {
      context.setPropertyResolved(true);
    }
    return result == NOT_A_METHOD ? null : result;
  }

  @Override
  public Object getValue(ELContext context, Object base, Object property) {
    // Jinjava hands subscripts over as text: s[-1] arrives as the property "-1".
    if (!(base instanceof String) || property == null || !INTEGER.matcher(property.toString()).matches()) {
      return null;
    }
    String s = (String) base;
    int n = s.codePointCount(0, s.length());
    int i = Integer.parseInt(property.toString());
    int index = i < 0 ? i + n : i;
    if (index < 0 || index >= n) {
      throw new IndexOutOfBoundsException("string index " + i + " out of range");
    }
    context.setPropertyResolved(true);
    int from = s.offsetByCodePoints(0, index);
    return s.substring(from, s.offsetByCodePoints(from, 1));
  }

  private static final Object NOT_A_METHOD = new Object();
  private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,9}");

  private static Object call(String s, String method, Object[] args) {
    switch (method) {
      case "strip":
        return strip(s, chars(args, 0), true, true);
      case "lstrip":
        return strip(s, chars(args, 0), true, false);
      case "rstrip":
        return strip(s, chars(args, 0), false, true);
      case "startswith":
        return affixes(args).stream().anyMatch(s::startsWith);
      case "endswith":
        return affixes(args).stream().anyMatch(s::endsWith);
      case "split":
        return split(s, chars(args, 0), maxSplit(args));
      case "rsplit":
        return rsplit(s, chars(args, 0), maxSplit(args));
      case "splitlines":
        return splitLines(s);
      case "replace":
        return replace(s, str(args, 0), str(args, 1), args.length > 2 ? intArg(args, 2) : -1);
      case "upper":
        return s.toUpperCase(Locale.ROOT);
      case "lower":
        return s.toLowerCase(Locale.ROOT);
      case "capitalize":
        return s.isEmpty()
            ? s
            : s.substring(0, s.offsetByCodePoints(0, 1)).toUpperCase(Locale.ROOT)
                + s.substring(s.offsetByCodePoints(0, 1)).toLowerCase(Locale.ROOT);
      case "find":
        int at = s.indexOf(str(args, 0));
        return at < 0 ? -1L : (long) s.codePointCount(0, at);
      case "count":
        return (long) count(s, str(args, 0));
      case "join":
        return join(s, args.length > 0 ? args[0] : null);
      case "isspace":
        return !s.isEmpty() && s.codePoints().allMatch(PyStringMethods::isSpace);
      case "isdigit":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
      default:
        return NOT_A_METHOD;
    }
  }

  /** Python's str.isspace for one code point. */
  static boolean isSpace(int c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
  }

  /** Python's strip family: {@code chars == null} strips whitespace. */
  static String strip(String s, String chars, boolean left, boolean right) {
    int start = 0;
    int end = s.length();
    while (left && start < end && strippable(s.codePointAt(start), chars)) {
      start += Character.charCount(s.codePointAt(start));
    }
    while (right && end > start && strippable(s.codePointBefore(end), chars)) {
      end -= Character.charCount(s.codePointBefore(end));
    }
    return s.substring(start, end);
  }

  private static boolean strippable(int c, String chars) {
    return chars == null ? isSpace(c) : chars.indexOf(new String(Character.toChars(c))) >= 0;
  }

  private static List<String> split(String s, String sep, int maxSplit) {
    List<String> parts = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      while (true) {
        while (i < s.length() && isSpace(s.codePointAt(i))) {
          i += Character.charCount(s.codePointAt(i));
        }
        if (i >= s.length()) {
          return parts;
        }
        if (maxSplit >= 0 && parts.size() == maxSplit) {
          parts.add(strip(s.substring(i), null, false, true));
          return parts;
        }
        int j = i;
        while (j < s.length() && !isSpace(s.codePointAt(j))) {
          j += Character.charCount(s.codePointAt(j));
        }
        parts.add(s.substring(i, j));
        i = j;
      }
    }
    requireSeparator(sep);
    int from = 0;
    int at;
    while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
      parts.add(s.substring(from, at));
      from = at + sep.length();
    }
    parts.add(s.substring(from));
    return parts;
  }

  private static List<String> rsplit(String s, String sep, int maxSplit) {
    if (sep == null || maxSplit < 0) {
      return split(s, sep, maxSplit);
    }
    requireSeparator(sep);
    List<String> parts = new ArrayList<>();
    int to = s.length();
    int at;
    while (parts.size() < maxSplit && (at = s.lastIndexOf(sep, to - sep.length())) >= 0) {
      parts.add(0, s.substring(at + sep.length(), to));
      to = at;
    }
    parts.add(0, s.substring(0, to));
    return parts;
  }

  private static void requireSeparator(String sep) {
    if (sep.isEmpty()) {
      throw new IllegalArgumentException("empty separator");
    }
  }

  private static List<String> splitLines(String s) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if ("\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029".indexOf(c) >= 0) {
        lines.add(s.substring(start, i));
        i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
        start = i;
      } else {
        i++;
      }
    }
    if (start < s.length()) {
      lines.add(s.substring(start));
    }
    return lines;
  }

  private static String replace(String s, String old, String replacement, int count) {
    if (count < 0) {
      return s.replace(old, replacement);
    }
    StringBuilder out = new StringBuilder();
    int from = 0;
    for (int n = 0; n < count; n++) {
      int at = s.indexOf(old, from);
      if (at < 0) {
        break;
      }
      out.append(s, from, at).append(replacement);
      from = at + old.length();
      if (old.isEmpty()) {
        if (from >= s.length()) {
          return out.append(s.substring(from)).toString();
        }
        out.appendCodePoint(s.codePointAt(from));
        from += Character.charCount(s.codePointAt(from));
      }
    }
    return out.append(s.substring(from)).toString();
  }

  private static int count(String s, String sub) {
    if (sub.isEmpty()) {
      return s.codePointCount(0, s.length()) + 1;
    }
    int n = 0;
    for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
      n++;
    }
    return n;
  }

  private static String join(String separator, Object items) {
    Iterator<?> it;
    if (items instanceof Iterable) {
      it = ((Iterable<?>) items).iterator();
    } else if (items instanceof Object[]) {
      it = List.of((Object[]) items).iterator();
    } else {
      throw new IllegalArgumentException("join() needs a list of strings");
    }
    StringBuilder out = new StringBuilder();
    boolean first = true;
    while (it.hasNext()) {
      Object item = it.next();
      if (!(item instanceof String || item instanceof SafeString)) {
        throw new IllegalArgumentException("join() needs a list of strings, got " + item);
      }
      out.append(first ? "" : separator).append(item);
      first = false;
    }
    return out.toString();
  }

  private static List<String> affixes(Object[] args) {
    Object a = args.length > 0 ? args[0] : null;
    List<String> out = new ArrayList<>();
    if (a instanceof Collection) {
      for (Object o : (Collection<?>) a) {
        out.add(String.valueOf(o));
      }
    } else if (a instanceof Object[]) {
      for (Object o : (Object[]) a) {
        out.add(String.valueOf(o));
      }
    } else if (a instanceof String || a instanceof SafeString) {
      out.add(a.toString());
    } else {
      throw new IllegalArgumentException("startswith/endswith need a string or a tuple of strings");
    }
    return out;
  }

  private static String chars(Object[] args, int i) {
    return args.length > i && args[i] != null ? args[i].toString() : null;
  }

  private static String str(Object[] args, int i) {
    if (args.length <= i || !(args[i] instanceof String || args[i] instanceof SafeString)) {
      throw new IllegalArgumentException("argument " + (i + 1) + " must be a string");
    }
    return args[i].toString();
  }

  private static int intArg(Object[] args, int i) {
    if (!(args[i] instanceof Number)) {
      throw new IllegalArgumentException("argument " + (i + 1) + " must be an integer");
    }
    return ((Number) args[i]).intValue();
  }

  private static int maxSplit(Object[] args) {
    return args.length > 1 ? intArg(args, 1) : -1;
  }

  @Override
  public Class<?> getType(ELContext context, Object base, Object property) {
    return null;
  }

  @Override
  public void setValue(ELContext context, Object base, Object property, Object value) {}

  @Override
  public boolean isReadOnly(ELContext context, Object base, Object property) {
    return true;
  }

  @Override
  public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
    return null;
  }

  @Override
  public Class<?> getCommonPropertyType(ELContext context, Object base) {
    return null;
  }
}
