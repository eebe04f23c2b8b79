package io.laketune.prep.write;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import io.laketune.prep.source.SourceInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * manifest.json of a prepared dataset: what the trainer and a person need to know about it. It is
 * written last, so a directory with a manifest is complete. No timestamps: the same input and
 * configuration give the same manifest. Keys are snake_case; maps are sorted.
 *
 * @param format always {@link ShardSchema#FORMAT}
 * @param formatVersion {@link ShardSchema#VERSION}; readers refuse other versions
 * @param seqLen tokens per row (packed rows hold up to seq_len; the reader pads to it)
 * @param packing greedy, best_fit or none
 * @param trainOn completion or all
 * @param counts what happened to every line read: records_read = kept + rejected + dropped + duplicates
 * @param splits "train" and "validation" (present even when empty)
 * @param rejects where the rejected lines are listed
 * @param source where the records came from: for tables the location and the exact version or
 *     snapshot read (see {@link SourceInfo}); null in manifests written before it existed
 * @param tenant in tenants/NAME/manifest.json of a dataset prepared with tenants: NAME (the
 *     counts and splits are then that tenant's); absent elsewhere
 * @param config the resolved laketune.prep section that made the dataset, with the table versions
 *     the job resolved written in: preparing from it again reads the same rows
 * @param tenants in the top manifest of a dataset prepared with tenants (tenant.column or
 *     tenant.inputs): each tenant's
 *     directory, counts and split sizes, by name; absent for a dataset of one tenant
 */
public record Manifest(
    String format,
    int formatVersion,
    String createdBy,
    int seqLen,
    String packing,
    String trainOn,
    TokenizerInfo tokenizer,
    Counts counts,
    Map<String, SplitInfo> splits,
    Rejects rejects,
    SourceInfo source,
    JsonNode config,
    @JsonInclude(JsonInclude.Include.NON_NULL) String tenant,
    @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, TenantInfo> tenants) {

  public static final String FILE_NAME = "manifest.json";

  static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /**
   * @param path where tokenizer.json came from, as configured
   * @param fingerprint {@code Tokenizer.fingerprint()}: SHA-256 of tokenizer.json + config files
   * @param bosId null when the tokenizer has no bos_token
   * @param eosId null when it has no eos_token
   * @param padId what the reader pads input_ids with: pad_token, else eos_token, else 0
   */
  public record TokenizerInfo(String path, String fingerprint, Integer bosId, Integer eosId, int padId) {}

  /**
   * @param recordsRead lines read, blank ones included
   * @param kept examples written
   * @param rejectedByReason lines rejected, by {@code RejectReason.label()}
   * @param droppedByReason examples left out by the length policy (too_long) or with nothing to
   *     train on once truncated (no_trained_tokens)
   * @param duplicates examples removed by dedup
   * @param truncated kept examples cut to seq_len
   */
  public record Counts(long recordsRead, long kept, long rejected, Map<String, Long> rejectedByReason,
      long dropped, Map<String, Long> droppedByReason, long duplicates, long truncated) {}

  /**
   * @param tokens tokens stored (padding excluded)
   * @param trainedTokens tokens with a label
   */
  public record SplitInfo(long examples, long rows, long tokens, long trainedTokens, List<ShardInfo> shards) {}

  /** @param path relative to the dataset directory, e.g. train/shard-00000.parquet */
  public record ShardInfo(String path, long rows, long examples, long tokens, long trainedTokens)
      implements Serializable {}

  /**
   * One tenant of a dataset prepared with tenants (tenant.column or tenant.inputs).
   *
   * @param path its dataset directory relative to the top one, tenants/NAME (with a manifest.json of
   *     its own)
   * @param counts its records, its rejects among them where their tenant is known: always with
   *     tenant.inputs, with tenant.column when the record names a valid tenant (a line that is no JSON
   *     or lacks the column counts in the top manifest only); the reject lines themselves are in the
   *     top rejects/, each with its "tenant"
   * @param splits its train and validation sizes (the shards are listed in its own manifest)
   */
  public record TenantInfo(String path, Counts counts, Map<String, SplitInfo> splits) {}

  /** Whether this dataset was prepared with tenant.column and so holds tenants/NAME/ datasets. */
  public boolean hasTenants() {
    return tenants != null;
  }

  /**
   * @param lines rejected lines listed in the files
   * @param files JSONL files of {"file", "line", "reason", "detail", "excerpt"}, relative paths
   */
  public record Rejects(long lines, List<String> files) {}

  public String toJson() {
    try {
      return JSON.writeValueAsString(this) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a manifest always serialises", e);
    }
  }

  public void write(Path dir, Configuration conf) throws IOException {
    Path file = new Path(dir, FILE_NAME);
    try (OutputStream out = file.getFileSystem(conf).create(file, true)) {
      out.write(toJson().getBytes(StandardCharsets.UTF_8));
    }
  }

  /**
   * Reads dir/manifest.json.
   *
   * @throws IllegalArgumentException when there is none (not a finished dataset) or it is of
   *     another format or version
   */
  public static Manifest read(Path dir, Configuration conf) throws IOException {
    Path file = new Path(dir, FILE_NAME);
    FileSystem fs = file.getFileSystem(conf);
    JsonNode tree;
    try (InputStream in = fs.open(file)) {
      tree = JSON.readTree(in);
    } catch (FileNotFoundException e) {
      throw new IllegalArgumentException(dir + " has no " + FILE_NAME + ": it is not a prepared dataset,"
          + " or its preparation did not finish; run laketune prepare for it.");
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(file + " is not valid JSON (" + e.getOriginalMessage()
          + "); prepare the dataset again.");
    }
    String format = tree.path("format").asText();
    int version = tree.path("format_version").asInt(-1);
    if (!ShardSchema.FORMAT.equals(format)) {
      throw new IllegalArgumentException(file + " is not a laketune dataset manifest (format \"" + format
          + "\", expected \"" + ShardSchema.FORMAT + "\").");
    }
    if (version != ShardSchema.VERSION) {
      throw new IllegalArgumentException(file + " has format_version " + version + "; this laketune reads "
          + ShardSchema.VERSION + ": prepare the dataset again with this laketune.");
    }
    return JSON.treeToValue(tree, Manifest.class);
  }
}
