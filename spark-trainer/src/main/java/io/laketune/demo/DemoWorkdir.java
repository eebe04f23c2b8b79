package io.laketune.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The demo's work directory. A new or empty directory becomes one (a marker file says so); a
 * directory a previous demo made is reused, so that a rerun keeps what is there and resumes
 * training. Anything else is refused: the demo never writes into a directory it did not make.
 */
public final class DemoWorkdir {
  static final String MARKER = ".laketune-demo";

  private DemoWorkdir() {}

  /** Makes {@code dir} a demo directory; returns whether a previous demo made it. */
  public static boolean claim(Path dir) throws IOException {
    if (Files.isRegularFile(dir.resolve(MARKER))) return true;
    if (Files.exists(dir) && !isEmptyDirectory(dir)) {
      throw new IllegalArgumentException(dir + " exists and is not a laketune demo directory; pass --workdir with a new directory or one a previous demo made");
    }
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(MARKER), "laketune demo work directory, format 1\n");
    return false;
  }

  private static boolean isEmptyDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) return false;
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    }
  }
}
