package io.laketune.ml;

import io.laketune.peft.PeftAdapterFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

/**
 * A PEFT adapter directory as the trainer wrote it ({@code adapter_config.json},
 * {@code adapter_model.safetensors}, {@code laketune_lineage.json}), held as its files' bytes: small
 * enough to broadcast, and written back byte for byte wherever a model is saved or an executor loads it.
 */
record AdapterFiles(Map<String, byte[]> files, String sha256) implements Serializable {

  /** Reads every file of the adapter directory {@code dir} on any Hadoop FileSystem. */
  static AdapterFiles read(String dir, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir);
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(new org.apache.hadoop.fs.Path(p, PeftAdapterFiles.CONFIG))) {
      throw new IllegalArgumentException(dir + " is not a PEFT adapter directory: it has no " + PeftAdapterFiles.CONFIG);
    }
    Map<String, byte[]> files = new TreeMap<>();
    for (FileStatus s : fs.listStatus(p)) {
      if (!s.isFile()) continue;
      try (InputStream in = fs.open(s.getPath())) {
        files.put(s.getPath().getName(), in.readAllBytes());
      }
    }
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        md.update(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        md.update(e.getValue());
      }
      return new AdapterFiles(files, HexFormat.of().formatHex(md.digest()));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes the files into {@code dir} on any Hadoop FileSystem (created if missing). */
  void write(String dir, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir);
    FileSystem fs = p.getFileSystem(conf);
    fs.mkdirs(p);
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(p, e.getKey()), true)) {
        out.write(e.getValue());
      }
    }
  }

  /** Writes the files into a new local temporary directory and returns it (an executor loads it from there). */
  Path writeTemp() throws IOException {
    Path dir = Files.createTempDirectory("laketune-adapter-");
    for (Map.Entry<String, byte[]> e : files.entrySet()) Files.write(dir.resolve(e.getKey()), e.getValue());
    return dir;
  }
}
