package io.laketune.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.reader.PreparedDataset;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * The documents of a prepared split as {"input_ids", "labels"} lines, the input of
 * {@code laketune eval}. A packed row is cut at its document boundaries: the trainer evaluates
 * each document with positions reset and attention kept inside it, so evaluating the documents
 * one by one gives the same loss.
 */
public final class SplitDocuments {
  /** One document: its token ids and labels (-100 = not scored). */
  public record Doc(int[] ids, int[] labels) {}

  private SplitDocuments() {}

  public static List<Doc> read(String datasetDir, String split) throws IOException {
    PreparedDataset data = PreparedDataset.open(datasetDir, new Configuration());
    List<Doc> out = new ArrayList<>();
    for (int shard = 0; shard < data.split(split).shards().size(); shard++) {
      for (PackedRow row : data.shard(split, shard)) {
        int start = 0;
        for (int len : row.docLens()) {
          out.add(new Doc(Arrays.copyOfRange(row.ids(), start, start + len), Arrays.copyOfRange(row.labels(), start, start + len)));
          start += len;
        }
      }
    }
    return out;
  }

  public static void writeJsonl(List<Doc> docs, Path file) throws IOException {
    ObjectMapper json = new ObjectMapper();
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (Doc d : docs) {
        ObjectNode line = json.createObjectNode();
        line.set("input_ids", json.valueToTree(d.ids()));
        line.set("labels", json.valueToTree(d.labels()));
        w.write(json.writeValueAsString(line));
        w.write('\n');
      }
    }
  }
}
