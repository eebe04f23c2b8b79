package io.laketune.prep.job;

import java.io.IOException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;

/**
 * Files that tasks write under deterministic names. A task writes to a hidden name of its own
 * attempt and renames it when done, so a retried or speculative attempt never leaves half a file
 * under the final name (two attempts write the same bytes; the last rename wins).
 */
final class TaskFiles {

  private TaskFiles() {}

  static Path attemptPath(Path target) {
    TaskContext task = TaskContext.get();
    String attempt = task == null ? "driver" : task.stageAttemptNumber() + "-" + task.taskAttemptId();
    return new Path(target.getParent(), "." + target.getName() + ".attempt-" + attempt);
  }

  static void publish(FileSystem fs, Path attempt, Path target) throws IOException {
    if (fs.exists(target)) {
      fs.delete(target, false);
    }
    if (!fs.rename(attempt, target)) {
      throw new IOException("cannot rename " + attempt + " to " + target);
    }
    Path crc = new Path(attempt.getParent(), "." + attempt.getName() + ".crc");
    if (fs.exists(crc)) {
      fs.delete(crc, false);
    }
  }
}
