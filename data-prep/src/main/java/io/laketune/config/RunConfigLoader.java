package io.laketune.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Layers a section of a HOCON run file over the module's reference.conf: reference, then the run
 * file, then {@code -Dlaketune.…} system properties, then {@code --set KEY=VALUE}. A key that
 * reference.conf does not list, or a value where a section belongs, is a one-sentence error naming
 * the key, where it was set and what is allowed.
 */
public final class RunConfigLoader {
  private final String root;
  private final List<String> freeForm;
  private final String referenceName;

  /**
   * @param root the section, e.g. {@code laketune.train}
   * @param freeForm sub-sections whose keys are free (passed through, e.g. rank patterns)
   */
  public RunConfigLoader(String root, List<String> freeForm) {
    this(root, freeForm, "reference.conf");
  }

  /** @param referenceName how messages name the reference file, e.g. "data-prep's reference.conf" */
  public RunConfigLoader(String root, List<String> freeForm, String referenceName) {
    this.root = root;
    this.freeForm = List.copyOf(freeForm);
    this.referenceName = referenceName;
  }

  public Config load(Path file, List<String> sets) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("The config file " + file + " does not exist; pass a HOCON run file to --config.");
    }
    try {
      return layer(ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)), sets);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("The config file " + file + " is not valid HOCON: " + e.getMessage(), e);
    }
  }

  /** The resolved section. */
  public Config layer(Config user, List<String> sets) {
    Config overrides = ConfigFactory.empty();
    for (String set : sets) overrides = parseSet(set).withFallback(overrides);
    Config system = ConfigFactory.systemProperties();
    system = system.hasPath(root) ? system.withOnlyPath(root) : ConfigFactory.empty();
    Config reference = ConfigFactory.parseResources(RunConfigLoader.class.getClassLoader(), "reference.conf");
    if (!reference.hasPath(root)) throw new IllegalStateException("reference.conf has no " + root + " section");
    Config referenceSection = reference.getConfig(root);
    for (Config layer : List.of(user, system, overrides)) {
      if (layer.hasPath(root)) checkKeys(layer.getConfig(root), referenceSection);
    }
    try {
      return overrides.withFallback(system).withFallback(user).withFallback(reference).resolve().getConfig(root);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("The configuration cannot be resolved: " + e.getMessage(), e);
    }
  }

  private Config parseSet(String set) {
    int eq = set.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("--set " + set + " is not KEY=VALUE; write for example --set seed=7.");
    }
    String key = set.substring(0, eq).trim();
    String path = key.startsWith("laketune.") ? key : root + "." + key;
    try {
      return ConfigFactory.parseString(path + " = " + set.substring(eq + 1),
          ConfigParseOptions.defaults().setOriginDescription("--set " + key));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("--set " + set + " has a value that is not valid HOCON: " + e.getMessage(), e);
    }
  }

  private void checkKeys(Config section, Config reference) {
    for (Map.Entry<String, ConfigValue> entry : section.entrySet()) {
      String path = entry.getKey();
      if (freeForm.stream().anyMatch(p -> path.startsWith(p + "."))) continue;
      if (!reference.hasPathOrNull(path)) {
        String parent = sectionOf(path, reference);
        throw new IllegalArgumentException("Unknown key " + root + "." + path + " (" + where(entry.getValue()) + "); "
            + (parent == null ? "" : parent + " ") + "every key is listed with its default in " + referenceName
            + suggestion(path, reference) + ".");
      }
      // a key whose default is null (optional) takes a value of any kind
      ConfigValue expected = reference.getIsNull(path) ? null : reference.getValue(path);
      if (expected != null && expected.valueType() == ConfigValueType.OBJECT && !freeForm.contains(path)) {
        throw new IllegalArgumentException(root + "." + path + " (" + where(entry.getValue())
            + ") is a section, not a value: set its keys (" + String.join(", ", ((ConfigObject) expected).keySet()) + ").");
      }
    }
    for (Map.Entry<String, ConfigValue> entry : section.root().entrySet()) {
      ConfigValue expected = reference.root().get(entry.getKey());
      if (expected != null && expected.valueType() == ConfigValueType.OBJECT
          && entry.getValue().valueType() != ConfigValueType.OBJECT && !freeForm.contains(entry.getKey())) {
        throw new IllegalArgumentException(root + "." + entry.getKey() + " (" + where(entry.getValue())
            + ") is a section, not a value: set its keys (" + String.join(", ", ((ConfigObject) expected).keySet())
            + "), for example " + root + "." + entry.getKey() + "." + ((ConfigObject) expected).keySet().iterator().next() + ".");
      }
    }
  }

  /** Where a value was set: file and line, --set, or a system property. */
  public static String where(ConfigValue v) {
    String description = v.origin().description();
    return description == null ? "unknown origin" : description;
  }

  private String sectionOf(String path, Config reference) {
    int dot = path.lastIndexOf('.');
    if (dot < 0) return null;
    String parent = path.substring(0, dot);
    if (reference.hasPath(parent) && reference.getValue(parent).valueType() == ConfigValueType.OBJECT) {
      return root + "." + parent + " has " + String.join(", ", reference.getObject(parent).keySet()) + ";";
    }
    return null;
  }

  private static String suggestion(String path, Config reference) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (Map.Entry<String, ConfigValue> e : reference.entrySet()) {
      int d = distance(path, e.getKey());
      if (d < bestDistance) {
        bestDistance = d;
        best = e.getKey();
      }
    }
    return best != null && bestDistance <= Math.max(2, path.length() / 4) ? " (did you mean " + best + "?)" : "";
  }

  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
