package io.laketune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.demo.DemoDataset;
import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.reader.PreparedDataset;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;

/**
 * The laketune side's inputs and outputs of the SFT-epoch benchmark
 * (model-zoo/src/test/python/sft_epoch_bench.py drives it with {@code LAKETUNE_MAIN}):
 * <ul>
 *   <li>{@code setup WORKDIR FAQ.txt[.gz] TOKENIZER_DIR VOCAB} writes WORKDIR/records.jsonl (the Debian
 *       FAQ's sections as question → answer records, see {@link SftRecords}, then the demo's 438 State of
 *       the Union passages) and WORKDIR/model: the benchmark shape (hidden 512, 8 layers) with VOCAB
 *       tokens, seeded, and the tokenizer's files.</li>
 *   <li>{@code export DATASET SPLIT OUT.jsonl} writes every document of a prepared split, cut out of its
 *       packed rows by doc_lens, as {"input_ids": [...], "labels": [...]}: the exact token ids and
 *       masks laketune trains on, for the PyTorch peer.</li>
 * </ul>
 */
public final class SftEpochBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SftEpochBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 5 && args[0].equals("setup")) {
      setup(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]), Integer.parseInt(args[4]));
    } else if (args.length == 4 && args[0].equals("export")) {
      export(args[1], args[2], Path.of(args[3]));
    } else {
      System.err.println("usage: SftEpochBenchmark setup WORKDIR FAQ.txt[.gz] TOKENIZER_DIR VOCAB | export DATASET SPLIT OUT.jsonl");
      System.exit(2);
    }
  }

  static void setup(Path work, Path faq, Path tokenizer, int vocab) throws Exception {
    if (!Files.isRegularFile(faq)) {
      throw new IllegalArgumentException(faq + " does not exist: install Debian's debian-faq package (apt-get install"
          + " debian-faq) or give the Debian FAQ's plain-text edition.");
    }
    Files.createDirectories(work);
    List<String> lines;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(faq.toString().endsWith(".gz")
        ? new GZIPInputStream(Files.newInputStream(faq)) : Files.newInputStream(faq), StandardCharsets.UTF_8))) {
      lines = r.lines().toList();
    }
    List<SftRecords.Record> records = SftRecords.debianFaq(lines);
    if (records.isEmpty()) throw new IllegalArgumentException(faq + " has no numbered FAQ sections; give the Debian FAQ's plain-text edition.");
    Path sotu = work.resolve("sotu.jsonl");
    DemoDataset.write(sotu);
    Path out = work.resolve("records.jsonl");
    try (BufferedWriter w = Files.newBufferedWriter(out)) {
      for (SftRecords.Record rec : records) {
        ObjectNode o = JSON.createObjectNode().put("prompt", rec.prompt()).put("completion", rec.completion());
        w.write(JSON.writeValueAsString(o));
        w.newLine();
      }
      for (String line : Files.readAllLines(sotu)) {
        w.write(line);
        w.newLine();
      }
    }
    Files.delete(sotu);
    SyncBenchmark.writeModel(work.resolve("model"), vocab,
        List.of(tokenizer.resolve("tokenizer.json"), tokenizer.resolve("tokenizer_config.json")));
    System.out.printf("%d FAQ records + the demo's State of the Union records -> %s; model (vocab %d) -> %s%n",
        records.size(), out, vocab, work.resolve("model"));
  }

  static void export(String dataset, String split, Path out) throws Exception {
    PreparedDataset data = PreparedDataset.open(dataset, new Configuration());
    long docs = 0;
    long tokens = 0;
    try (BufferedWriter w = Files.newBufferedWriter(out)) {
      for (int s = 0; s < data.split(split).shards().size(); s++) {
        for (PackedRow row : data.shard(split, s)) {
          int start = 0;
          for (int len : row.docLens()) {
            ObjectNode o = JSON.createObjectNode();
            o.putPOJO("input_ids", Arrays.copyOfRange(row.ids(), start, start + len));
            o.putPOJO("labels", Arrays.copyOfRange(row.labels(), start, start + len));
            w.write(JSON.writeValueAsString(o));
            w.newLine();
            start += len;
            docs++;
            tokens += len;
          }
        }
      }
    }
    if (docs != data.split(split).examples() || tokens != data.split(split).tokens()) {
      throw new IllegalStateException(dataset + " " + split + ": the shards hold " + docs + " documents and " + tokens
          + " tokens but the manifest says " + data.split(split).examples() + " and " + data.split(split).tokens()
          + "; prepare the dataset again.");
    }
    System.out.printf("%s %s: %d documents, %d tokens -> %s%n", dataset, split, docs, tokens, out);
  }
}
