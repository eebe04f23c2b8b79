package io.laketune.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.laketune.checkpoint.ModelIdentity;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * {@code laketune_lineage.json}: where a checkpoint, final adapter, final model or merged model
 * came from — the dataset (its manifest's SHA-256 and the source it records: table location and
 * version or snapshot, query, files), the training configuration's SHA-256 and the base model's
 * identity (its config.json's and every weights file's SHA-256). Written beside PEFT's and
 * transformers' files, and the same JSON as "laketune_lineage" in the "__metadata__" of the
 * safetensors files written with it. Versioned: readers refuse a format_version they do not know.
 *
 * @param artifact checkpoint, adapter, model or merged
 * @param step the optimizer steps behind the weights
 * @param run the run's output directory
 * @param method full, lora or qlora
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Lineage(
    @JsonProperty("format") String format,
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("created_by") String createdBy,
    @JsonProperty("artifact") String artifact,
    @JsonProperty("step") long step,
    @JsonProperty("run") String run,
    @JsonProperty("method") String method,
    @JsonProperty("config_sha256") String configSha256,
    @JsonProperty("dataset") Dataset dataset,
    @JsonProperty("base_model") BaseModel baseModel) {

  public static final String FILE = "laketune_lineage.json";
  public static final String FORMAT = "laketune-lineage";
  public static final int FORMAT_VERSION = 1;
  /** The "__metadata__" key of safetensors files that holds the lineage JSON. */
  public static final String METADATA_KEY = "laketune_lineage";

  static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  private static final ObjectMapper PRETTY = JSON.copy().enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  /**
   * The dataset trained on.
   *
   * @param path the prepared dataset's directory, as configured
   * @param manifestSha256 SHA-256 of its manifest.json: what a resumed run must find again
   * @param tokenizerFingerprint the manifest's tokenizer fingerprint
   * @param source the manifest's source block (format, table, location, version or snapshot_id,
   *     query, views, files); null for datasets prepared before it existed
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Dataset(
      @JsonProperty("path") String path,
      @JsonProperty("manifest_sha256") String manifestSha256,
      @JsonProperty("tokenizer_fingerprint") String tokenizerFingerprint,
      @JsonProperty("source") JsonNode source) {

    /** One line for people: the source's format, table or location, and version or snapshot. */
    public String describe() {
      if (source == null || source.isNull()) {
        return path + " (manifest sha256 " + shortHash(manifestSha256) + ")";
      }
      StringBuilder s = new StringBuilder(source.path("format").asText());
      for (String k : List.of("table", "location")) {
        if (source.hasNonNull(k)) {
          s.append(' ').append(source.get(k).asText());
        }
      }
      if (source.hasNonNull("version")) {
        s.append(" version ").append(source.get("version").asLong());
      }
      if (source.hasNonNull("snapshot_id")) {
        s.append(" snapshot ").append(source.get("snapshot_id").asLong());
      }
      if (source.hasNonNull("views")) {
        s.append(" (views");
        source.get("views").fields().forEachRemaining(v -> {
          s.append(' ').append(v.getKey()).append(':');
          if (v.getValue().hasNonNull("version")) {
            s.append(" version ").append(v.getValue().get("version").asLong());
          } else if (v.getValue().hasNonNull("snapshot_id")) {
            s.append(" snapshot ").append(v.getValue().get("snapshot_id").asLong());
          } else {
            s.append(" unversioned");
          }
        });
        s.append(')');
      }
      return s + " (manifest sha256 " + shortHash(manifestSha256) + ")";
    }
  }

  /**
   * The base model: its directory and what it holds.
   *
   * @param configSha256 SHA-256 of config.json
   * @param weights every *.safetensors file (and the shard index), by name, with size and SHA-256
   * @param weightsSha256 SHA-256 of the lines "file\tbytes\tsha256\n" of weights in name order: one
   *     value for all the weights (see {@link ModelIdentity})
   */
  public record BaseModel(
      @JsonProperty("path") String path,
      @JsonProperty("config_sha256") String configSha256,
      @JsonProperty("weights") List<ModelIdentity.FileHash> weights,
      @JsonProperty("weights_sha256") String weightsSha256) {

    static BaseModel of(String path, ModelIdentity id) {
      return new BaseModel(path, id.configSha256(), id.weights(), id.weightsSha256());
    }
  }

  /**
   * The lineage of the prepared dataset at dir: its manifest's SHA-256 (over the file's bytes, as
   * checkpoints record it) and what the manifest says of its source and tokenizer.
   */
  public static Dataset dataset(String dir, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir, "manifest.json");
    byte[] bytes;
    try (InputStream in = file.getFileSystem(conf).open(file)) {
      bytes = in.readAllBytes();
    } catch (java.io.FileNotFoundException e) {
      throw new IllegalArgumentException(dir + " has no manifest.json: it is not a prepared dataset; run laketune"
          + " prepare for it.");
    }
    JsonNode manifest = JSON.readTree(bytes);
    JsonNode source = manifest.get("source");
    return new Dataset(dir, sha256(bytes), manifest.path("tokenizer").path("fingerprint").asText(null),
        source == null || source.isNull() ? null : source);
  }

  static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** The same lineage for another artifact of the run. */
  public Lineage of(String otherArtifact, long atStep) {
    return new Lineage(format, formatVersion, createdBy, otherArtifact, atStep, run, method, configSha256, dataset,
        baseModel);
  }

  public String toJson() {
    try {
      return PRETTY.writeValueAsString(this) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a lineage always serialises", e);
    }
  }

  /** The safetensors "__metadata__" entry: the lineage as compact JSON. */
  public Map<String, String> metadata() {
    try {
      return Map.of(METADATA_KEY, JSON.writeValueAsString(this));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a lineage always serialises", e);
    }
  }

  /** Writes {@link #FILE} into a local directory. */
  public void write(Path dir) throws IOException {
    Files.writeString(dir.resolve(FILE), toJson());
  }

  /** Writes {@link #FILE} into a directory of any Hadoop FileSystem. */
  public void write(FileSystem fs, org.apache.hadoop.fs.Path dir) throws IOException {
    try (java.io.OutputStream out = fs.create(new org.apache.hadoop.fs.Path(dir, FILE), true)) {
      out.write(toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  /**
   * The identity of a model directory read where it lies (hdfs://, s3a://, file:), streaming each
   * weights file once: what the sharded driver records, which never copies the weights.
   */
  public static io.laketune.checkpoint.ModelIdentity identity(String modelDir, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(modelDir);
    FileSystem fs = dir.getFileSystem(conf);
    java.util.List<io.laketune.checkpoint.ModelIdentity.FileHash> weights = new java.util.ArrayList<>();
    for (org.apache.hadoop.fs.FileStatus f : fs.listStatus(dir)) {
      String name = f.getPath().getName();
      if (!f.isFile() || !io.laketune.checkpoint.ModelIdentity.isWeights(name)) continue;
      try (InputStream in = fs.open(f.getPath())) {
        weights.add(new io.laketune.checkpoint.ModelIdentity.FileHash(name, f.getLen(),
            io.laketune.checkpoint.ModelIdentity.sha256(in)));
      }
    }
    org.apache.hadoop.fs.Path config = new org.apache.hadoop.fs.Path(dir, "config.json");
    String configSha = null;
    if (fs.isFile(config)) {
      try (InputStream in = fs.open(config)) {
        configSha = io.laketune.checkpoint.ModelIdentity.sha256(in);
      }
    }
    return io.laketune.checkpoint.ModelIdentity.of(configSha, weights);
  }

  /** Reads dir/laketune_lineage.json on any Hadoop FileSystem; null when there is none. */
  public static Lineage read(org.apache.hadoop.fs.Path dir, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir, FILE);
    FileSystem fs = file.getFileSystem(conf);
    if (!fs.exists(file)) {
      return null;
    }
    try (InputStream in = fs.open(file)) {
      return parse(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), file.toString());
    }
  }

  /** @throws IllegalArgumentException when it is not a lineage file of a version this laketune reads */
  public static Lineage parse(String json, String where) throws IOException {
    JsonNode tree;
    try {
      tree = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(where + " is not valid JSON (" + e.getOriginalMessage() + ").");
    }
    if (!FORMAT.equals(tree.path("format").asText())) {
      throw new IllegalArgumentException(where + " is not a laketune lineage file (format \""
          + tree.path("format").asText() + "\", expected \"" + FORMAT + "\").");
    }
    if (tree.path("format_version").asInt(-1) != FORMAT_VERSION) {
      throw new IllegalArgumentException(where + " has format_version " + tree.path("format_version").asInt(-1)
          + "; this laketune reads " + FORMAT_VERSION + ".");
    }
    return JSON.treeToValue(tree, Lineage.class);
  }

  static String shortHash(String sha256) {
    return sha256 == null ? "?" : sha256.substring(0, Math.min(12, sha256.length()));
  }
}
