package io.laketune.prep.tokenize;

import io.laketune.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * One tokenizer per JVM and model directory: the native tokenizer (tens of MB for a 128k
 * vocabulary) is loaded once per executor, not per task or record, and shared by its task
 * threads (it is thread-safe). Keyed by location and fingerprint, so a directory replaced between
 * jobs in a long-lived JVM is loaded anew.
 *
 * <p>A directory on a Hadoop FileSystem (hdfs://, s3a://) is first copied to a local temporary
 * folder, since DJL reads local files; a local path or file: URI is read in place.
 */
public final class TokenizerCache {

  /** The files of a model directory that Tokenizer.load reads. */
  private static final List<String> FILES = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "generation_config.json", "chat_template.jinja");

  private static final ConcurrentHashMap<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

  private TokenizerCache() {}

  /**
   * The tokenizer at location.
   *
   * @param fingerprint the fingerprint the driver saw, or null on the driver itself
   * @throws IllegalArgumentException when the directory has no usable tokenizer.json
   * @throws IllegalStateException when the files changed since the driver read them
   */
  public static Tokenizer get(String location, String fingerprint, Configuration conf) {
    String key = location + "\n" + (fingerprint == null ? "" : fingerprint);
    Tokenizer tokenizer = CACHE.computeIfAbsent(key, k -> load(location, conf));
    if (fingerprint != null && !fingerprint.equals(tokenizer.fingerprint())) {
      CACHE.remove(key, tokenizer);
      throw new IllegalStateException("The tokenizer files at " + location + " changed while the job ran"
          + " (fingerprint " + tokenizer.fingerprint() + ", the driver saw " + fingerprint + "); run the job again.");
    }
    return tokenizer;
  }

  private static Tokenizer load(String location, Configuration conf) {
    try {
      java.nio.file.Path local = localDir(location, conf);
      if (local != null) {
        return Tokenizer.load(local);
      }
      return Tokenizer.load(copyToLocal(new Path(location), conf));
    } catch (IOException e) {
      throw new IllegalArgumentException("laketune.prep.tokenizer: cannot read a tokenizer from "
          + location + " (" + e.getMessage() + "); point it at a model directory with tokenizer.json.", e);
    }
  }

  /** The local folder for a plain path or file: URI that exists here, else null. */
  private static java.nio.file.Path localDir(String location, Configuration conf) {
    URI uri = new Path(location).toUri();
    if ("file".equals(uri.getScheme())) {
      return java.nio.file.Path.of(uri.getPath());
    }
    if (uri.getScheme() == null && Files.isDirectory(java.nio.file.Path.of(location))) {
      return java.nio.file.Path.of(location);
    }
    return null;
  }

  private static java.nio.file.Path copyToLocal(Path dir, Configuration conf) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    if (!fs.exists(new Path(dir, Tokenizer.TOKENIZER_JSON))) {
      throw new IOException(new Path(dir, Tokenizer.TOKENIZER_JSON) + " does not exist");
    }
    java.nio.file.Path local = Files.createTempDirectory("laketune-tokenizer-");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(local)));
    for (String name : FILES) {
      Path file = new Path(dir, name);
      if (fs.exists(file)) {
        try (InputStream in = fs.open(file)) {
          Files.copy(in, local.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    return local;
  }

  private static void deleteQuietly(java.nio.file.Path dir) {
    try (Stream<java.nio.file.Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException ignored) {
      // A temporary copy left behind at exit is harmless.
    }
  }
}
