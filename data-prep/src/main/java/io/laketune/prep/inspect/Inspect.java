package io.laketune.prep.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.config.PrepConfig;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.prep.format.RecordFormat;
import io.laketune.prep.format.Rendered;
import io.laketune.prep.source.RowRecords;
import io.laketune.prep.source.TableSource;
import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.read.Chunk;
import io.laketune.prep.read.ChunkLines;
import io.laketune.prep.read.InputFile;
import io.laketune.prep.read.InputFiles;
import io.laketune.prep.read.JsonLine;
import io.laketune.prep.reader.PreparedDataset;
import io.laketune.prep.tokenize.ExampleTokenizer;
import io.laketune.prep.tokenize.TokenizedDoc;
import io.laketune.prep.tokenize.TokenizerCache;
import io.laketune.prep.write.Manifest;
import io.laketune.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code laketune inspect}: where the prepared dataset at laketune.prep.output came from and its
 * first N rows, or — when it has not been prepared yet — the first N lines (or table rows) of the
 * input, tokenized and masked exactly as the job would (no packing; no Spark for JSONL), so a user
 * sees the masking before paying for preparation or training.
 */
public final class Inspect {

  private Inspect() {}

  /**
   * @param split "train" or "validation" (dataset only)
   * @param spark reads a table source that is not prepared yet; null when there is no session
   */
  public static void run(PrepConfig config, int n, String split, InspectView.Options options,
      Configuration conf, PrintStream out, SparkSession spark) throws IOException {
    Tokenizer tokenizer = TokenizerCache.get(config.tokenizer(), null, conf);
    InspectView view = new InspectView(tokenizer, out, options.colour(), options.table());
    Path output = new Path(config.output());
    if (output.getFileSystem(conf).exists(new Path(output, Manifest.FILE_NAME))) {
      dataset(PreparedDataset.open(config.output(), conf), tokenizer, n, split, view, out);
    } else if (config.source().format().tabular()) {
      if (spark == null) {
        throw new IllegalArgumentException(config.output() + " is not prepared yet, and reading its "
            + config.source().format().name().toLowerCase(Locale.ROOT) + " source needs Spark.");
      }
      TableSource.Resolved source = TableSource.resolve(spark, config);
      out.printf(Locale.ROOT, "%s is not prepared yet: the first %d rows of %s, as the job would tokenize them"
          + " (before packing).%n%n", config.output(), n, source.info().describe());
      tableRows(config, source, tokenizer, n, view, out);
    } else {
      out.printf(Locale.ROOT, "%s is not prepared yet: the first %d lines of the input, as the job would"
          + " tokenize them (before packing).%n%n", config.output(), n);
      input(config, tokenizer, n, view, conf, out);
    }
  }

  /** As above for JSONL input (no Spark). */
  public static void run(PrepConfig config, int n, String split, InspectView.Options options,
      Configuration conf, PrintStream out) throws IOException {
    run(config, n, split, options, conf, out, null);
  }

  /** A prepared dataset by its directory: where it came from, then its first n rows. */
  public static void dataset(String dir, int n, String split, InspectView.Options options, Configuration conf,
      PrintStream out) throws IOException {
    PreparedDataset data = PreparedDataset.open(dir, conf);
    Tokenizer tokenizer = TokenizerCache.get(data.manifest().tokenizer().path(), null, conf);
    dataset(data, tokenizer, n, split, new InspectView(tokenizer, out, options.colour(), options.table()), out);
  }

  private static void dataset(PreparedDataset data, Tokenizer tokenizer, int n, String split,
      InspectView view, PrintStream out) throws IOException {
    Manifest m = data.manifest();
    SourceView.print(m, out);
    if (!tokenizer.fingerprint().equals(m.tokenizer().fingerprint())) {
      out.println("note: the tokenizer differs from the one that prepared the dataset; the text below may be wrong.");
    }
    out.printf(Locale.ROOT, "%s rows of seq_len %d, packing %s, training on %s tokens; trained text in %s%n%n",
        split, m.seqLen(), m.packing(), m.trainOn(), "⟦ ⟧");
    int shown = 0;
    List<Manifest.ShardInfo> shards = data.split(split).shards();
    for (int s = 0; s < shards.size() && shown < n; s++) {
      List<PackedRow> rows = data.shard(split, s);
      for (int r = 0; r < rows.size() && shown < n; r++, shown++) {
        view.row(split + " row " + r + " of " + shards.get(s).path(), rows.get(r));
      }
    }
    if (shown == 0) {
      out.println("The " + split + " split is empty.");
    }
  }

  /** The first n rows of a table source, through the same records and formats as the job. */
  private static void tableRows(PrepConfig config, TableSource.Resolved source, Tokenizer tokenizer, int n,
      InspectView view, PrintStream out) {
    RecordFormat format = RecordFormat.of(config, tokenizer);
    ExampleTokenizer examples = new ExampleTokenizer(tokenizer, config);
    RowRecords records = source.records();
    int shown = 0;
    for (Row row : source.rows().limit(n).collectAsList()) {
      ObjectNode raw = records.raw(row);
      String key = records.key(raw);
      String file = records.file(row);
      long position = records.position(row);
      String title = "row " + (++shown) + (key != null ? " (key " + key + ")" : "")
          + (file != null ? " of " + file + (position >= 0 ? " at " + position : "") : "");
      try {
        example(config, examples, format.render(records.parse(raw)), title, view);
      } catch (BadRecordException e) {
        out.printf(Locale.ROOT, "── %s: rejected (%s: %s) ──%n%n", title, e.reason().label(), e.detail());
      }
    }
    if (shown == 0) {
      out.println("The source has no rows" + (config.source().filter().isEmpty() ? "." : " where source.filter holds."));
    }
  }

  private static void example(PrepConfig config, ExampleTokenizer examples, Rendered rendered, String title,
      InspectView view) {
    TokenizedDoc doc = examples.tokenize(rendered);
    int seqLen = config.length().seqLen();
    if (doc.length() > seqLen) {
      title += " (" + doc.length() + " tokens, over seq_len " + seqLen + ": "
          + config.length().policy().name().toLowerCase(Locale.ROOT) + ")";
      doc = new TokenizedDoc(Arrays.copyOf(doc.ids(), seqLen), Arrays.copyOf(doc.labels(), seqLen));
    }
    view.example(title, doc);
  }

  private static void input(PrepConfig config, Tokenizer tokenizer, int n, InspectView view,
      Configuration conf, PrintStream out) throws IOException {
    RecordFormat format = RecordFormat.of(config, tokenizer);
    ExampleTokenizer examples = new ExampleTokenizer(tokenizer, config);
    JsonLine json = new JsonLine();
    int shown = 0;
    for (InputFile file : InputFiles.expand(config.input(), conf)) {
      Chunk whole = new Chunk(file, 0, file.length(), 1);
      try (ChunkLines lines = ChunkLines.open(whole, config.length().maxRecordBytes(), conf)) {
        while (shown < n && lines.next()) {
          String title = file.path() + " line " + lines.lineNumber();
          shown++;
          if (lines.tooLarge()) {
            out.printf(Locale.ROOT, "── %s: rejected (record_too_large, %d bytes) ──%n%n", title, lines.size());
            continue;
          }
          try {
            JsonNode record = json.parse(json.decode(lines.bytes(), lines.offset(), lines.length() - lines.offset()));
            example(config, examples, format.render(record), title, view);
          } catch (BadRecordException e) {
            out.printf(Locale.ROOT, "── %s: rejected (%s: %s) ──%n%n", title, e.reason().label(), e.detail());
          }
        }
      }
      if (shown >= n) {
        break;
      }
    }
  }
}
