package io.laketune.prep.job;

import io.laketune.prep.write.Manifest;
import java.io.IOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The output directory and its staging twin. Everything is written under
 * {@code <parent>/.<name>.staging-<random>} (hidden: Hadoop and Spark readers skip names starting
 * with "."), manifest.json last, and the staging directory is renamed to the output when complete.
 * On HDFS and local disks the rename is atomic; on object stores (s3a) it is not, but the manifest
 * is still the last file to appear and readers require it.
 */
final class DatasetDir {

  private final Path output;
  private final Path staging;
  private final FileSystem fs;

  private DatasetDir(Path output, Path staging, FileSystem fs) {
    this.output = output;
    this.staging = staging;
    this.fs = fs;
  }

  /**
   * Checks the output and creates the staging directory.
   *
   * @throws IllegalArgumentException when the output exists and may not or cannot be replaced
   */
  static DatasetDir create(String output, boolean overwrite, Configuration conf) throws IOException {
    Path path = new Path(output);
    FileSystem fs = path.getFileSystem(conf);
    path = fs.makeQualified(path);
    if (fs.exists(path)) {
      if (!overwrite) {
        throw new IllegalArgumentException("laketune.prep.output: " + path + " already exists; choose another"
            + " path or set laketune.prep.overwrite = true to replace it.");
      }
      if (!fs.exists(new Path(path, Manifest.FILE_NAME))) {
        throw new IllegalArgumentException("laketune.prep.output: " + path + " exists and is not a prepared"
            + " dataset (no " + Manifest.FILE_NAME + "), so overwrite will not delete it; choose another path.");
      }
    }
    Path staging = new Path(path.getParent(), "." + path.getName() + ".staging-" + UUID.randomUUID());
    if (!fs.mkdirs(staging)) {
      throw new IOException("cannot create " + staging);
    }
    return new DatasetDir(path, staging, fs);
  }

  Path output() {
    return output;
  }

  Path staging() {
    return staging;
  }

  /** Moves the finished staging directory into place, replacing an older dataset. */
  void commit() throws IOException {
    if (fs.exists(output) && !fs.delete(output, true)) {
      throw new IOException("cannot delete the old dataset at " + output);
    }
    if (!fs.rename(staging, output)) {
      throw new IOException("cannot rename " + staging + " to " + output);
    }
  }

  /** Deletes the staging directory after a failure that left nothing worth keeping. */
  void abandon() {
    try {
      fs.delete(staging, true);
    } catch (IOException ignored) {
      // The staging name is hidden and never taken for a dataset.
    }
  }
}
