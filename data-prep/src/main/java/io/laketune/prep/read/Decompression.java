package io.laketune.prep.read;

import com.github.luben.zstd.ZstdInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.compress.BZip2Codec;

/**
 * Compression of an input file, chosen by its name. All of these run without native Hadoop
 * libraries: gzip with the JDK (concatenated members included), bzip2 with Hadoop's Java codec,
 * zstd with zstd-jni (Hadoop's own zstd codec needs libhadoop).
 */
public enum Decompression {
  NONE,
  GZIP,
  BZIP2,
  ZSTD;

  public static Decompression of(String path) {
    String name = path.toLowerCase(Locale.ROOT);
    if (name.endsWith(".gz")) {
      return GZIP;
    }
    if (name.endsWith(".bz2")) {
      return BZIP2;
    }
    if (name.endsWith(".zst") || name.endsWith(".zstd")) {
      return ZSTD;
    }
    return NONE;
  }

  /** The decompressed bytes of a stream of this kind; closing it closes {@code in}. */
  public InputStream wrap(InputStream in, Configuration conf) throws IOException {
    return switch (this) {
      case NONE -> in;
      case GZIP -> new GZIPInputStream(in, 1 << 16);
      case BZIP2 -> {
        BZip2Codec codec = new BZip2Codec();
        codec.setConf(conf);
        yield codec.createInputStream(in);
      }
      case ZSTD -> new ZstdInputStream(in);
    };
  }
}
