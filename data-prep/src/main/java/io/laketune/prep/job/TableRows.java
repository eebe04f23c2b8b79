package io.laketune.prep.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.source.RowRecords;
import io.laketune.prep.split.ContentHash;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import org.apache.spark.sql.Row;

/**
 * The per-row work of the job for table sources, in one task: each row becomes the record a JSONL
 * line would (see {@link RowRecords}) and then goes through the same {@link RecordProcessor} —
 * render, tokenize, mask, length policy, hashes — or is rejected with its file, position, key and
 * an excerpt of its values. Lazy, one row at a time.
 */
final class TableRows {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final RowRecords records;
  private final RecordProcessor processor;

  TableRows(RowRecords records, RecordProcessor processor) {
    this.records = records;
    this.processor = processor;
  }

  Iterator<Outcome> process(Iterator<Row> rows, Progress.Counters counters) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public Outcome next() {
        Outcome out = outcome(rows.next());
        counters.record(out);
        return out;
      }
    };
  }

  Outcome outcome(Row row) {
    ObjectNode raw = records.raw(row);
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(raw);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a record of row values always serialises", e);
    }
    // The row's identity: its values, hashed. Equal rows give equal outcomes, so ordering by it
    // is as good as by file and position, and it does not change when files are rewritten.
    long[] id = ContentHash.sha128(json);
    processor.startRecord("");
    try {
      return processor.example(id[0], id[1], records.parse(raw));
    } catch (BadRecordException e) {
      String start = new String(json, 0, Math.min(json.length, 4 * RecordProcessor.EXCERPT), StandardCharsets.UTF_8);
      return new Outcome.Rejected(records.file(row), records.position(row), e.reason().label(), e.detail(),
          start.substring(0, Math.min(RecordProcessor.EXCERPT, start.length())),
          new Outcome.TableRow(records.key(raw), id[0], id[1]), processor.recordTenant());
    }
  }
}
