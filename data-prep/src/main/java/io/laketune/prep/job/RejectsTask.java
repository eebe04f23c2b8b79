package io.laketune.prep.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Locale;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes rejected records to {@code rejects/part-NNNNN.jsonl}, one JSON object per line. For JSONL
 * input, one file per input chunk (N = the chunk's number) of {"file", "line", "reason", "detail",
 * "excerpt"}; for table rows, one file per part of the rejects sorted by row identity (see
 * PrepareJob), of {"file", "row", "key", "reason", "detail", "excerpt"} where "file" is the data
 * file, "row" the position in it (from 0) and "key" the source.key value — each left out when the
 * source does not give it — and "excerpt" the start of the row's values as JSON. In a dataset of
 * tenants each also has the record's "tenant" where it is known (see Outcome.Rejected). A part without
 * rejects writes no file.
 */
final class RejectsTask implements Serializable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HadoopConf conf;
  private final String staging;

  RejectsTask(HadoopConf conf, String staging) {
    this.conf = conf;
    this.staging = staging;
  }

  /** @return the relative path written and the number of lines, or null when none */
  RejectsFile write(int chunk, Iterator<Outcome> outcomes) {
    String relative = "rejects/part-" + String.format(Locale.ROOT, "%05d", chunk) + ".jsonl";
    Path target = new Path(staging, relative);
    Path attempt = TaskFiles.attemptPath(target);
    long lines = 0;
    try {
      FileSystem fs = target.getFileSystem(conf.get());
      OutputStream out = null;
      try {
        while (outcomes.hasNext()) {
          if (outcomes.next() instanceof Outcome.Rejected r) {
            if (out == null) {
              out = fs.create(attempt, true);
            }
            out.write(line(r));
            lines++;
          }
        }
      } finally {
        if (out != null) {
          out.close();
        }
      }
      if (lines == 0) {
        return null;
      }
      TaskFiles.publish(fs, attempt, target);
      return new RejectsFile(relative, lines);
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + target + " failed: " + e.getMessage(), e);
    }
  }

  private static byte[] line(Outcome.Rejected r) throws JsonProcessingException {
    ObjectNode node = JSON.createObjectNode();
    if (r.row() == null) {
      node.put("file", r.file());
      node.put("line", r.line());
    } else {
      if (r.file() != null) {
        node.put("file", r.file());
      }
      if (r.line() >= 0) {
        node.put("row", r.line());
      }
      if (r.row().key() != null) {
        node.set("key", JSON.readTree(r.row().key()));
      }
    }
    if (!r.tenant().isEmpty()) {
      node.put("tenant", r.tenant());
    }
    node.put("reason", r.reason());
    node.put("detail", r.detail());
    node.put("excerpt", r.excerpt());
    return (JSON.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
  }

  record RejectsFile(String path, long lines) implements Serializable {}
}
