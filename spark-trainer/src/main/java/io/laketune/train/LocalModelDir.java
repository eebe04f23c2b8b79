package io.laketune.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

/**
 * A model directory on the local disk: a local path as is, or a copy of one on another Hadoop
 * FileSystem (HDFS, S3A) made once per JVM into a temporary folder.
 */
public final class LocalModelDir {
  private static final Map<String, Path> COPIES = new ConcurrentHashMap<>();

  private LocalModelDir() {}

  public static Path of(String uri) {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(uri);
    String scheme = p.toUri().getScheme();
    if (scheme == null || scheme.equals("file")) return Path.of(p.toUri().getPath());
    return COPIES.computeIfAbsent(uri, u -> {
      try {
        FileSystem fs = p.getFileSystem(new Configuration());
        Path local = Files.createTempDirectory("laketune-model-");
        for (FileStatus s : fs.listStatus(p)) {
          if (s.isFile()) fs.copyToLocalFile(false, s.getPath(), new org.apache.hadoop.fs.Path(local.resolve(s.getPath().getName()).toString()), true);
        }
        return local;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot copy the model directory " + u + " to local disk: " + e.getMessage(), e);
      }
    });
  }
}
