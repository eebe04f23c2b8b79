package io.laketune.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Typed reads of a resolved section; every bad value is a one-sentence error naming the key. */
public final class ConfigValues {
  private final Config c;
  private final String root;

  public ConfigValues(Config c, String root) {
    this.c = c;
    this.root = root;
  }

  public IllegalArgumentException bad(String key, String problem) {
    String where = c.hasPathOrNull(key) && !c.getIsNull(key) ? " (" + RunConfigLoader.where(c.getValue(key)) + ")" : "";
    return new IllegalArgumentException(root + "." + key + where + " " + problem + ".");
  }

  public String string(String key) {
    try {
      return c.getIsNull(key) ? null : c.getString(key);
    } catch (ConfigException.WrongType e) {
      throw bad(key, "must be a string");
    }
  }

  public String required(String key, String what) {
    String s = string(key);
    if (s == null || s.isBlank()) throw bad(key, "is empty: give " + what);
    return s;
  }

  public boolean bool(String key) {
    try {
      return c.getBoolean(key);
    } catch (ConfigException.WrongType e) {
      throw bad(key, "must be true or false, not " + c.getValue(key).render());
    }
  }

  public long integer(String key, long min, long max) {
    long v;
    try {
      v = c.getLong(key);
    } catch (ConfigException.WrongType e) {
      throw bad(key, "must be a whole number, not " + c.getValue(key).render());
    }
    if (v < min || v > max) throw bad(key, "must be between " + min + " and " + max + ", not " + v);
    return v;
  }

  public double number(String key, double min, double max) {
    double v;
    try {
      v = c.getDouble(key);
    } catch (ConfigException.WrongType e) {
      throw bad(key, "must be a number, not " + c.getValue(key).render());
    }
    if (!(v >= min && v <= max)) throw bad(key, "must be between " + min + " and " + max + ", not " + v);
    return v;
  }

  public <E extends Enum<E>> E choice(String key, Class<E> type) {
    String s = string(key);
    for (E e : type.getEnumConstants()) {
      if (e.name().equalsIgnoreCase(s)) return e;
    }
    List<String> allowed = new ArrayList<>();
    for (E e : type.getEnumConstants()) allowed.add(e.name().toLowerCase(Locale.ROOT));
    throw bad(key, "must be one of " + String.join(", ", allowed) + ", not '" + s + "'");
  }

  /** A string or a list of strings. */
  public List<String> stringOrList(String key) {
    ConfigValue v = c.getValue(key);
    List<String> out = new ArrayList<>();
    if (v.valueType() == ConfigValueType.STRING) {
      out.add((String) v.unwrapped());
      return out;
    }
    if (v.valueType() != ConfigValueType.LIST) throw bad(key, "must be a string or a list of strings");
    for (Object o : (List<?>) v.unwrapped()) out.add(String.valueOf(o));
    return out;
  }

  /** A free-form object of numbers. */
  public Map<String, Double> numbers(String key) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, ConfigValue> e : c.getObject(key).entrySet()) {
      if (e.getValue().valueType() != ConfigValueType.NUMBER) throw bad(key + "." + e.getKey(), "must be a number");
      out.put(e.getKey(), ((Number) e.getValue().unwrapped()).doubleValue());
    }
    return out;
  }

  public Config raw() {
    return c;
  }
}
