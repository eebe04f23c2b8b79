package io.laketune.prep.config;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * The laketune.prep section of a run file, parsed and checked once by {@link PrepConfigParser}.
 * Immutable; serialisable because executors get a copy. reference.conf documents every key.
 *
 * @param input paths, directories or globs of JSONL files on any Hadoop FileSystem
 * @param output the dataset directory to create
 * @param overwrite whether an existing dataset at output may be replaced
 * @param tokenizer the model directory holding tokenizer.json, local or on a Hadoop FileSystem
 * @param resolvedJson the whole resolved laketune.prep section as JSON, for the manifest
 */
public record PrepConfig(
    List<String> input,
    String output,
    boolean overwrite,
    String tokenizer,
    Format format,
    Labels labels,
    Length length,
    Pack pack,
    Split split,
    boolean dedup,
    long seed,
    double maxRejectFraction,
    long shardTokens,
    long splitBytes,
    int progressSeconds,
    String resolvedJson)
    implements Serializable {

  public PrepConfig {
    input = List.copyOf(input);
  }

  /** format.type: how a JSON line becomes text. */
  public enum FormatType {
    TEXT,
    PROMPT_COMPLETION,
    CHAT,
    ALPACA
  }

  /** labels.train_on after auto is resolved. */
  public enum TrainOn {
    ALL,
    COMPLETION
  }

  /** labels.add_bos. */
  public enum AddBos {
    AUTO,
    TRUE,
    FALSE
  }

  /** length.policy. */
  public enum LengthPolicy {
    TRUNCATE,
    DROP
  }

  /** pack.mode. */
  public enum PackMode {
    GREEDY,
    BEST_FIT,
    NONE
  }

  /** format.alpaca_prompt. */
  public enum AlpacaPrompt {
    ALPACA,
    CHAT
  }

  /**
   * @param fields format.fields: our name (text, prompt, messages, role, ...) to the data's name
   * @param roles format.roles: template role (system, user, assistant, tool) to the data's name
   * @param templateArgs format.template_args, as plain Java values (String, Boolean, Number,
   *     List, Map)
   */
  public record Format(
      FormatType type,
      Map<String, String> fields,
      Map<String, String> roles,
      Map<String, Object> templateArgs,
      AlpacaPrompt alpacaPrompt)
      implements Serializable {

    public Format {
      fields = Map.copyOf(fields);
      roles = Map.copyOf(roles);
      templateArgs = Map.copyOf(templateArgs);
    }

    /** The data's name of one of our fields (text, prompt, messages, role, content, ...). */
    public String field(String name) {
      String value = fields.get(name);
      if (value == null) {
        throw new IllegalArgumentException("no format.fields." + name + " in reference.conf");
      }
      return value;
    }
  }

  public record Labels(TrainOn trainOn, AddBos addBos, boolean addEos) implements Serializable {}

  /** @param maxRecordBytes lines longer than this many bytes are rejected unread */
  public record Length(int seqLen, LengthPolicy policy, long maxRecordBytes)
      implements Serializable {}

  /** @param openRows best_fit: rows kept open per shard */
  public record Pack(PackMode mode, int openRows) implements Serializable {}

  /** @param key "content" or the name of an id field */
  public record Split(double validationFraction, String key) implements Serializable {

    public boolean byContent() {
      return "content".equals(key);
    }
  }
}
