package io.laketune.tokenizer;

import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What transformers adds to the jinja2 environment it renders chat templates in, and the jinja2
 * built-ins that Jinjava implements differently:
 *
 * <ul>
 *   <li>{@code raise_exception(message)}: the template rejects the conversation.
 *   <li>{@code strftime_now(format)}: the local time, formatted like Python's strftime.
 *   <li>{@code tojson}: Python's json.dumps with ensure_ascii=False and its default separators
 *       (Jinjava's writes {@code {"a":1}}, Python's {@code {"a": 1}}).
 *   <li>{@code trim}: Python's str.strip, which also strips Unicode spaces such as U+00A0.
 *   <li>{@code pyslice}: slices with a step, the target of {@link TemplateRewriter}.
 *   <li>{@code {% generation %}}: transformers' AssistantTracker tag; it renders its body.
 * </ul>
 */
final class Jinja2Library {

  private Jinja2Library() {}

  static void register(Context context) {
    context.registerFunction(
        new ELFunctionDefinition(
            "", "raise_exception", Jinja2Library.class, "raiseException", Object.class));
    context.registerFunction(
        new ELFunctionDefinition(
            "", "strftime_now", Jinja2Library.class, "strftimeNow", String.class));
    context.registerFilter(new ToJson());
    context.registerFilter(new Trim());
    context.registerFilter(new PySlice());
    context.registerTag(new Generation());
  }

  /** Thrown by {@code raise_exception}; carries the template's own message. */
  static final class TemplateRaisedException extends RuntimeException {
    TemplateRaisedException(String message) {
      super(message);
    }
  }

  public static Object raiseException(Object message) {
    throw new TemplateRaisedException(String.valueOf(message));
  }

  public static String strftimeNow(String format) {
    return PyStrftime.format(format, ZonedDateTime.now());
  }

  /** Python's {@code s[start:stop:step]} on a string (by code points) or a sequence. */
  static Object slice(Object value, Object start, Object stop, Object step) {
    int stepValue = step == null ? 1 : ((Number) step).intValue();
    if (stepValue == 0) {
      throw new IllegalArgumentException("slice step cannot be zero");
    }
    boolean isString = value instanceof String || value instanceof SafeString;
    List<Object> items = new ArrayList<>();
    if (isString) {
      value.toString().codePoints().forEach(c -> items.add(new String(Character.toChars(c))));
    } else if (value instanceof Iterable) {
      ((Iterable<?>) value).forEach(items::add);
    } else if (value instanceof Object[]) {
      items.addAll(List.of((Object[]) value));
    } else {
      throw new IllegalArgumentException("cannot slice " + value);
    }
    int n = items.size();
    int lower = stepValue > 0 ? 0 : -1;
    int upper = stepValue > 0 ? n : n - 1;
    int from = bound(start, stepValue > 0 ? lower : upper, n, lower, upper);
    int to = bound(stop, stepValue > 0 ? upper : lower, n, lower, upper);
    List<Object> out = new ArrayList<>();
    for (int i = from; stepValue > 0 ? i < to : i > to; i += stepValue) {
      out.add(items.get(i));
    }
    if (isString) {
      StringBuilder s = new StringBuilder();
      out.forEach(s::append);
      return s.toString();
    }
    return out;
  }

  private static int bound(Object index, int dflt, int n, int lower, int upper) {
    if (index == null) {
      return dflt;
    }
    int i = ((Number) index).intValue();
    if (i < 0) {
      i += n;
    }
    return Math.max(lower, Math.min(upper, i));
  }

  private static final class ToJson implements Filter {
    @Override
    public String getName() {
      return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return new PyJson(false, null, null, false).dumps(var);
    }

    @Override
    public Object filter(
        Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      return PyJson.fromKwargs(kwargs).dumps(var);
    }
  }

  private static final class Trim implements Filter {
    @Override
    public String getName() {
      return "trim";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      String chars = args.length > 0 ? args[0] : null;
      return var == null ? "" : PyStringMethods.strip(var.toString(), chars, true, true);
    }
  }

  private static final class PySlice implements Filter {
    @Override
    public String getName() {
      return "pyslice";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      throw new UnsupportedOperationException("pyslice takes its arguments as objects");
    }

    @Override
    public Object filter(
        Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      return slice(var, arg(args, 0), arg(args, 1), arg(args, 2));
    }

    private static Object arg(Object[] args, int i) {
      return args.length > i ? args[i] : null;
    }
  }

  private static final class Generation implements Tag {
    @Override
    public String getName() {
      return "generation";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
      StringBuilder out = new StringBuilder();
      Iterator<Node> children = tagNode.getChildren().iterator();
      while (children.hasNext()) {
        out.append(children.next().render(interpreter).getValue());
      }
      return out.toString();
    }
  }
}
