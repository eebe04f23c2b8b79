package io.laketune.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a model directory holds, as hashes: SHA-256 of config.json and of every weights file
 * (*.safetensors and model.safetensors.index.json) with its size, and one SHA-256 over those lines
 * that names all the weights together. Each file is streamed once in 8 MiB reads, so the cost is
 * reading the weights once (measured by PrepareBenchmark's lineage figures).
 *
 * @param configSha256 SHA-256 of config.json, or null when there is none
 * @param weights the weights files in name order
 * @param weightsSha256 SHA-256 of the lines "file\tbytes\tsha256\n" of weights, in order
 */
public record ModelIdentity(String configSha256, List<FileHash> weights, String weightsSha256) {

  private static final int BUFFER = 8 << 20;

  /** One file: its name in the directory, size and SHA-256. */
  public record FileHash(String file, long bytes, String sha256) {}

  public ModelIdentity {
    weights = List.copyOf(weights);
  }

  /** Hashes the model directory on local disk. */
  public static ModelIdentity of(Path dir) throws IOException {
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(p -> Files.isRegularFile(p) && isWeights(p.getFileName().toString())).sorted().toList();
    }
    List<FileHash> weights = new ArrayList<>();
    for (Path f : files) weights.add(new FileHash(f.getFileName().toString(), Files.size(f), sha256(f)));
    Path config = dir.resolve(HfCheckpointReader.CONFIG);
    return of(Files.isRegularFile(config) ? sha256(config) : null, weights);
  }

  /**
   * The identity from hashes taken elsewhere (a directory on a Hadoop file system, say): the config's
   * SHA-256 (or null) and each weights file's, in file-name order.
   */
  public static ModelIdentity of(String configSha256, List<FileHash> weights) {
    List<FileHash> sorted = weights.stream().sorted(java.util.Comparator.comparing(FileHash::file)).toList();
    MessageDigest all = sha256();
    for (FileHash w : sorted) {
      all.update((w.file() + "\t" + w.bytes() + "\t" + w.sha256() + "\n").getBytes(StandardCharsets.UTF_8));
    }
    return new ModelIdentity(configSha256, sorted, HexFormat.of().formatHex(all.digest()));
  }

  /** The files that make up the weights: safetensors files and the shard index. */
  public static boolean isWeights(String fileName) {
    return fileName.endsWith(".safetensors") || fileName.equals(HfCheckpointReader.INDEX);
  }

  /** Bytes of all weights files. */
  public long weightBytes() {
    return weights.stream().mapToLong(FileHash::bytes).sum();
  }

  /** SHA-256 of a file, streamed. */
  public static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return sha256(in);
    }
  }

  /** SHA-256 of everything a stream holds (the caller closes it). */
  public static String sha256(InputStream in) throws IOException {
    MessageDigest sha = sha256();
    byte[] buffer = new byte[BUFFER];
    for (int n; (n = in.read(buffer)) > 0; ) {
      sha.update(buffer, 0, n);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
