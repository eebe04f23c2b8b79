package io.laketune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The real tokenizers under src/test/resources/tokenizers (llama3, qwen3, gpt2), unpacked into
 * model directories in a temporary folder, and the JSON fixtures beside them. Also used by
 * spark-trainer's tests through model-zoo's test jar, so resources are read from the class path.
 */
public final class TokenizerFixtures {

  public static final ObjectMapper JSON = new ObjectMapper();

  private static final Map<String, Path> DIRS = new HashMap<>();
  private static Path root;

  private TokenizerFixtures() {}

  /** A model directory with tokenizer.json and tokenizer_config.json of the named tokenizer. */
  public static synchronized Path modelDir(String name) {
    return DIRS.computeIfAbsent(name, TokenizerFixtures::unpack);
  }

  /** A fixture file of src/test/resources/tokenizers, parsed. */
  public static JsonNode json(String fileName) {
    try (InputStream in = resource(fileName)) {
      return JSON.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies a model directory so that a test can add or break files in it. */
  public static Path copyOf(String name, Path target) throws IOException {
    Files.createDirectories(target);
    try (Stream<Path> files = Files.list(modelDir(name))) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.copy(file, target.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return target;
  }

  private static Path unpack(String name) {
    try {
      if (root == null) {
        root = Files.createTempDirectory("laketune-tokenizers");
        Path dir = root;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteRecursively(dir)));
      }
      Path dir = Files.createDirectories(root.resolve(name));
      try (InputStream in = new GZIPInputStream(resource(name + "/tokenizer.json.gz"))) {
        Files.copy(in, dir.resolve("tokenizer.json"));
      }
      try (InputStream in = resource(name + "/tokenizer_config.json")) {
        Files.copy(in, dir.resolve("tokenizer_config.json"));
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream resource(String path) {
    InputStream in = TokenizerFixtures.class.getResourceAsStream("/tokenizers/" + path);
    if (in == null) {
      throw new IllegalStateException(
          "test resource tokenizers/" + path + " is missing; see model-zoo/src/test/node/README.md");
    }
    return in;
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // A temporary folder left behind at exit is harmless.
    }
  }
}
