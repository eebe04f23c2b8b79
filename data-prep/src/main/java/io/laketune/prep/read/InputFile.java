package io.laketune.prep.read;

import java.io.Serializable;

/**
 * One input file, as the job found it.
 *
 * @param index position in the sorted input list: with the line number, the input order that
 *     dedup and ties in the shuffle follow
 * @param path fully qualified Hadoop path (hdfs://host:port/..., file:/...)
 * @param length size in bytes (compressed size for compressed files)
 */
public record InputFile(int index, String path, long length) implements Serializable {

  /** Whether the file is compressed, by its name: .gz, .bz2, .zst, .zstd. */
  public boolean compressed() {
    return Decompression.of(path) != Decompression.NONE;
  }
}
