package io.laketune.prep.read;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Expands laketune.prep.input (files, directories, globs on any Hadoop FileSystem) into the list of
 * files to read, and cuts them into chunks for tasks. The order is deterministic: patterns in the
 * order given, the files of each sorted by path, each file once.
 */
public final class InputFiles {

  private InputFiles() {}

  /** @throws IllegalArgumentException when a pattern matches no file */
  public static List<InputFile> expand(List<String> patterns, Configuration conf) throws IOException {
    return expand(patterns, conf, "laketune.prep.input");
  }

  /**
   * @param key the configuration key that gave the patterns, for the message
   * @throws IllegalArgumentException when a pattern matches no file
   */
  public static List<InputFile> expand(List<String> patterns, Configuration conf, String key) throws IOException {
    Map<String, Long> files = new LinkedHashMap<>();
    for (String pattern : patterns) {
      Path path = new Path(pattern);
      FileSystem fs = path.getFileSystem(conf);
      FileStatus[] matches;
      try {
        matches = fs.globStatus(path);
      } catch (FileNotFoundException e) {
        matches = null;
      }
      List<FileStatus> found = new ArrayList<>();
      if (matches != null) {
        for (FileStatus match : matches) {
          collect(fs, match, found);
        }
      }
      if (found.isEmpty()) {
        throw new IllegalArgumentException(key + ": " + pattern + " matches no file"
            + (matches != null && matches.length > 0 ? " (only empty directories or hidden files)" : "")
            + "; check the path and its FileSystem scheme.");
      }
      found.sort(Comparator.comparing(s -> s.getPath().toString()));
      for (FileStatus file : found) {
        files.putIfAbsent(file.getPath().toString(), file.getLen());
      }
    }
    List<InputFile> out = new ArrayList<>();
    for (Map.Entry<String, Long> file : files.entrySet()) {
      out.add(new InputFile(out.size(), file.getKey(), file.getValue()));
    }
    return out;
  }

  private static void collect(FileSystem fs, FileStatus status, List<FileStatus> out) throws IOException {
    if (status.isFile()) {
      out.add(status);
      return;
    }
    if (status.isDirectory()) {
      FileStatus[] children = fs.listStatus(status.getPath());
      Arrays.sort(children);
      for (FileStatus child : children) {
        String name = child.getPath().getName();
        if (!name.startsWith("_") && !name.startsWith(".")) {
          collect(fs, child, out);
        }
      }
    }
  }

  /**
   * Chunks of at most splitBytes for uncompressed files, one chunk per compressed or empty file.
   * firstLine is 1 in every chunk; {@link LineCounts} numbers the chunks of split files.
   */
  public static List<Chunk> chunks(List<InputFile> files, long splitBytes) {
    List<Chunk> out = new ArrayList<>();
    for (InputFile file : files) {
      if (file.compressed() || file.length() <= splitBytes) {
        out.add(new Chunk(file, 0, file.length(), 1));
        continue;
      }
      for (long start = 0; start < file.length(); start += splitBytes) {
        out.add(new Chunk(file, start, Math.min(file.length(), start + splitBytes), 1));
      }
    }
    return out;
  }
}
