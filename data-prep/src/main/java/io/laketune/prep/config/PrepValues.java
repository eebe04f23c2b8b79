package io.laketune.prep.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.laketune.config.RunConfigLoader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The laketune.prep section's typed getters: each error is one sentence naming the key, where it was
 * set (file: line) and what is allowed.
 */
final class PrepValues {
  final Config c;

  PrepValues(Config c) {
    this.c = c;
  }

  IllegalArgumentException bad(String key, String problem) {
    String origin = c.hasPathOrNull(key) ? " (" + RunConfigLoader.where(c.getValue(key)) + ")" : "";
    return new IllegalArgumentException(PrepConfigParser.ROOT + "." + key + origin + " " + problem + ".");
  }

  IllegalArgumentException wrong(String key, String allowed) {
    String shown = c.hasPathOrNull(key) ? c.getValue(key).render(ConfigRenderOptions.concise()) : "nothing";
    return bad(key, "= " + shown + " is not allowed: it must be " + allowed);
  }

  String string(String key) {
    try {
      return c.getString(key);
    } catch (ConfigException e) {
      throw wrong(key, "a string");
    }
  }

  String nonEmpty(String key, String what) {
    String value = string(key).trim();
    if (value.isEmpty()) {
      throw bad(key, "is empty: give " + what);
    }
    return value;
  }

  boolean bool(String key) {
    try {
      return c.getBoolean(key);
    } catch (ConfigException e) {
      throw wrong(key, "true or false");
    }
  }

  long longIn(String key, long min, long max) {
    long value;
    try {
      value = c.getLong(key);
    } catch (ConfigException e) {
      throw wrong(key, "an integer from " + min + " to " + max);
    }
    if (value < min || value > max) {
      throw wrong(key, "an integer from " + min + " to " + max);
    }
    return value;
  }

  double doubleIn(String key, double min, boolean minOpen, double max, boolean maxOpen) {
    String allowed = "a number " + (minOpen ? "above " : "from ") + min
        + (maxOpen ? " and below " : " to ") + max;
    double value;
    try {
      value = c.getDouble(key);
    } catch (ConfigException e) {
      throw wrong(key, allowed);
    }
    if (Double.isNaN(value) || (minOpen ? value <= min : value < min)
        || (maxOpen ? value >= max : value > max)) {
      throw wrong(key, allowed);
    }
    return value;
  }

  long bytesIn(String key, long min, long max) {
    String allowed = "a size from " + min + " to " + max + " bytes, like 512k, 64m or 1g";
    long value;
    try {
      value = c.getBytes(key);
    } catch (ConfigException e) {
      throw wrong(key, allowed);
    }
    if (value < min || value > max) {
      throw wrong(key, allowed);
    }
    return value;
  }

  String oneOf(String key, List<String> allowed) {
    String value = string(key);
    if (!allowed.contains(value)) {
      throw wrong(key, "one of " + String.join(", ", allowed));
    }
    return value;
  }

  @SafeVarargs
  final <E extends Enum<E>> E choice(String key, Class<E> type, E... excluded) {
    List<String> allowed = new ArrayList<>();
    for (E e : type.getEnumConstants()) {
      if (!List.of(excluded).contains(e)) {
        allowed.add(e.name().toLowerCase(Locale.ROOT));
      }
    }
    return Enum.valueOf(type, oneOf(key, allowed).toUpperCase(Locale.ROOT));
  }

  boolean isNull(String key) {
    return !c.hasPath(key);
  }

  /** A whole number at least min, or null when the key is null or absent. */
  Long optionalLong(String key, long min) {
    if (isNull(key)) {
      return null;
    }
    return longIn(key, min, Long.MAX_VALUE);
  }

  /** A non-blank string, or null when the key is null, absent or blank. */
  String optionalString(String key) {
    if (isNull(key)) {
      return null;
    }
    String value = c.getValue(key).valueType() == ConfigValueType.NUMBER
        ? c.getValue(key).unwrapped().toString() : string(key).trim();
    return value.isEmpty() ? null : value;
  }

  List<String> stringOrList(String key) {
    ConfigValue value = c.getValue(key);
    List<String> out = new ArrayList<>();
    if (value.valueType() == ConfigValueType.STRING) {
      out.add((String) value.unwrapped());
    } else if (value.valueType() == ConfigValueType.LIST) {
      for (ConfigValue item : (ConfigList) value) {
        if (item.valueType() != ConfigValueType.STRING || ((String) item.unwrapped()).isBlank()) {
          throw wrong(key, "a path or a list of paths (strings)");
        }
        out.add(((String) item.unwrapped()).trim());
      }
    } else {
      throw wrong(key, "a path or a list of paths (strings)");
    }
    out.removeIf(String::isBlank);
    return out;
  }

  Map<String, String> names(String key) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : c.getObject(key).keySet()) {
      out.put(name, nonEmpty(key + "." + name, "a field or role name"));
    }
    return out;
  }

  Map<String, Object> object(String key) {
    Map<String, Object> values;
    try {
      values = c.getObject(key).unwrapped();
    } catch (ConfigException e) {
      throw wrong(key, "a section of template variables");
    }
    for (Map.Entry<String, Object> entry : values.entrySet()) {
      if (entry.getValue() == null) {
        throw wrong(key + "." + entry.getKey(), "a string, number, boolean, list or section, not null");
      }
    }
    return values;
  }
}
