package io.laketune.model;

import io.laketune.io.SafetensorsReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The reference checkpoints and goldens made by src/test/python/make_fixtures.py, as directories
 * on disk. Also used by other modules' tests through model-zoo's test jar, so the files are read
 * from the class path and copied into a temporary folder once per JVM.
 */
public final class Fixtures {
  private static final List<String> FILES = List.of("config.json", "model.safetensors", "golden.safetensors", "golden_wd0.safetensors",
      "adapter_config.json", "adapter_model.safetensors");
  private static final Map<String, Path> DIRS = new HashMap<>();
  private static Path root;

  private Fixtures() {}

  public static synchronized Path dir(String name) {
    return DIRS.computeIfAbsent(name, Fixtures::unpack);
  }

  /** A single file under src/test/resources/fixtures, copied to disk. */
  public static synchronized Path file(String name) {
    return DIRS.computeIfAbsent("file:" + name, k -> copy("/fixtures/" + name, name));
  }

  private static Path unpack(String name) {
    for (String f : FILES) {
      String resource = "/fixtures/" + name + "/" + f;
      if (Fixtures.class.getResource(resource) != null) copy(resource, name + "/" + f);
    }
    Path dir = root().resolve(name);
    if (!Files.isDirectory(dir)) throw new IllegalStateException("fixture '" + name + "' is missing; run make_fixtures.py");
    return dir;
  }

  private static Path root() {
    try {
      if (root == null) root = Files.createTempDirectory("laketune-fixtures");
      return root;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path copy(String resource, String relative) {
    Path target = root().resolve(relative);
    try (InputStream in = Fixtures.class.getResourceAsStream(resource)) {
      if (in == null) throw new IllegalStateException("test resource " + resource + " is missing");
      Files.createDirectories(target.getParent());
      Files.copy(in, target);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static int[][] ints(SafetensorsReader golden, String name) throws IOException {
    INDArray a = golden.read(name, DataType.INT64);
    int rows = (int) a.size(0), cols = (int) a.size(1);
    int[][] out = new int[rows][cols];
    for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) out[r][c] = a.getInt(r, c);
    return out;
  }

  /** Batch of the golden inputs. */
  public static Batch batch(SafetensorsReader golden) throws IOException {
    return new Batch(ints(golden, "input_ids"), ints(golden, "attention_mask"), ints(golden, "labels"), null, null);
  }
}
