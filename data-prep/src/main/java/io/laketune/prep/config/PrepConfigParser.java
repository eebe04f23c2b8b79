package io.laketune.prep.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigList;
import io.laketune.config.RunConfigLoader;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.laketune.prep.config.PrepConfig.AddBos;
import io.laketune.prep.config.PrepConfig.AlpacaPrompt;
import io.laketune.prep.config.PrepConfig.FormatType;
import io.laketune.prep.config.PrepConfig.LengthPolicy;
import io.laketune.prep.config.PrepConfig.PackMode;
import io.laketune.prep.config.PrepConfig.TrainOn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the laketune.prep section of a HOCON run file over data-prep's reference.conf, with
 * -Dlaketune.prep.KEY=VALUE and --set KEY=VALUE on top, into a {@link PrepConfig}.
 *
 * <p>Every mistake is an {@link IllegalArgumentException} with one sentence that names the key,
 * where it was set (file: line), and what is allowed: keys that reference.conf does not have, values
 * of the wrong kind, values out of range.
 */
public final class PrepConfigParser {

  public static final String ROOT = "laketune.prep";

  /** Keys below these take any name: they are passed through, not interpreted. */
  private static final List<String> FREE_FORM = List.of("format.template_args");

  private PrepConfigParser() {}

  /**
   * Parses a run file.
   *
   * @param file the HOCON run file
   * @param sets --set arguments, "KEY=VALUE" with KEY relative to laketune.prep or starting with
   *     "laketune."
   */
  public static PrepConfig load(Path file, List<String> sets) {
    return read(loader().load(file, sets));
  }

  /** Parses an already-read run file (tests, notebooks); see {@link #load}. */
  public static PrepConfig parse(Config user, List<String> sets) {
    return read(loader().layer(user, sets));
  }

  private static RunConfigLoader loader() {
    return new RunConfigLoader(ROOT, FREE_FORM, "data-prep's reference.conf");
  }

  private static PrepConfig read(Config c) {
    Values v = new Values(c);
    List<String> input = v.stringOrList("input");
    if (input.isEmpty()) {
      throw v.bad("input", "is empty: give the JSONL to read (a file, a directory or a glob, or a list of them)");
    }
    String output = v.nonEmpty("output", "the dataset directory to create");
    String tokenizer = v.nonEmpty("tokenizer", "the model directory that holds tokenizer.json");
    FormatType type = v.choice("format.type", FormatType.class);
    Map<String, String> fields = v.names("format.fields");
    Map<String, String> roles = v.names("format.roles");
    Map<String, Object> templateArgs = v.object("format.template_args");
    AlpacaPrompt alpacaPrompt = v.choice("format.alpaca_prompt", AlpacaPrompt.class);
    String trainOnText = v.oneOf("labels.train_on", List.of("auto", "completion", "all"));
    TrainOn trainOn = switch (trainOnText) {
      case "all" -> TrainOn.ALL;
      case "completion" -> TrainOn.COMPLETION;
      default -> type == FormatType.TEXT ? TrainOn.ALL : TrainOn.COMPLETION;
    };
    if (type == FormatType.TEXT && trainOn == TrainOn.COMPLETION) {
      throw v.bad("labels.train_on", "is completion, but format.type = text has no completion: use all or auto");
    }
    String addBosText = v.oneOf("labels.add_bos", List.of("auto", "true", "false"));
    AddBos addBos = AddBos.valueOf(addBosText.toUpperCase(Locale.ROOT));
    boolean addEos = v.bool("labels.add_eos");
    int seqLen = (int) v.longIn("length.seq_len", 2, 1 << 24);
    LengthPolicy policy = v.choice("length.policy", LengthPolicy.class);
    long maxRecordBytes = v.bytesIn("length.max_record_bytes", 16, Integer.MAX_VALUE - 64);
    PackMode packMode = v.choice("pack.mode", PackMode.class);
    int openRows = (int) v.longIn("pack.open_rows", 1, 1 << 20);
    double validationFraction = v.doubleIn("split.validation_fraction", 0, false, 1, true);
    String splitKey = v.nonEmpty("split.key", "\"content\" or the name of an id field");
    boolean dedup = v.bool("dedup");
    long seed = v.longIn("seed", Long.MIN_VALUE, Long.MAX_VALUE);
    double maxRejectFraction = v.doubleIn("rejects.max_fraction", 0, false, 1, false);
    long shardTokens = v.longIn("output_shards.shard_tokens", 1, Long.MAX_VALUE);
    long splitBytes = v.bytesIn("read.split_bytes", 1, Long.MAX_VALUE);
    int progressSeconds = (int) v.longIn("progress_seconds", 0, 86400);
    boolean overwrite = v.bool("overwrite");
    String resolvedJson = c.root().render(ConfigRenderOptions.concise());
    return new PrepConfig(
        input,
        output,
        overwrite,
        tokenizer,
        new PrepConfig.Format(type, fields, roles, templateArgs, alpacaPrompt),
        new PrepConfig.Labels(trainOn, addBos, addEos),
        new PrepConfig.Length(seqLen, policy, maxRecordBytes),
        new PrepConfig.Pack(packMode, openRows),
        new PrepConfig.Split(validationFraction, splitKey),
        dedup,
        seed,
        maxRejectFraction,
        shardTokens,
        splitBytes,
        progressSeconds,
        resolvedJson);
  }

  private static String where(ConfigValue value) {
    return RunConfigLoader.where(value);
  }

  /** Typed getters whose errors name the key, its origin and what is allowed. */
  private static final class Values {
    private final Config c;

    Values(Config c) {
      this.c = c;
    }

    IllegalArgumentException bad(String key, String problem) {
      String origin = c.hasPathOrNull(key) ? " (" + where(c.getValue(key)) + ")" : "";
      return new IllegalArgumentException(ROOT + "." + key + origin + " " + problem + ".");
    }

    private IllegalArgumentException wrong(String key, String allowed) {
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

    <E extends Enum<E>> E choice(String key, Class<E> type) {
      List<String> allowed = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        allowed.add(e.name().toLowerCase(Locale.ROOT));
      }
      return Enum.valueOf(type, oneOf(key, allowed).toUpperCase(Locale.ROOT));
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
}
