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
      files = list.filter(p -> {
        String name = p.getFileName().toString();
        return Files.isRegularFile(p)
            && (name.endsWith(".safetensors") || name.equals(HfCheckpointReader.INDEX));
      }).sorted().toList();
    }
    List<FileHash> weights = new ArrayList<>();
    MessageDigest all = sha256();
    for (Path f : files) {
      FileHash w = new FileHash(f.getFileName().toString(), Files.size(f), sha256(f));
      weights.add(w);
      all.update((w.file() + "\t" + w.bytes() + "\t" + w.sha256() + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Path config = dir.resolve(HfCheckpointReader.CONFIG);
    return new ModelIdentity(Files.isRegularFile(config) ? sha256(config) : null, weights,
        HexFormat.of().formatHex(all.digest()));
  }

  /** Bytes of all weights files. */
  public long weightBytes() {
    return weights.stream().mapToLong(FileHash::bytes).sum();
  }

  /** SHA-256 of a file, streamed. */
  public static String sha256(Path file) throws IOException {
    MessageDigest sha = sha256();
    byte[] buffer = new byte[BUFFER];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        sha.update(buffer, 0, n);
      }
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
