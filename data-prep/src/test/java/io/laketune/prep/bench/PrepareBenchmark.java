package io.laketune.prep.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.job.PrepareJob;
import io.laketune.prep.write.Manifest;
import io.laketune.tokenizer.Tokenizer;
import io.laketune.tokenizer.TokenizerFixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.SparkSession;

/**
 * Throughput of laketune prepare against the raw encode rate of the same tokenizer on the same
 * text. Not a test: a main that prints figures.
 *
 * <p>Text: the King James Bible, public domain, from Debian's bible-kjv-text package (apt-get
 * install bible-kjv-text; this runs its `bible` program to get plain text), one JSONL document per
 * chapter, the corpus repeated. Run from the repository root after mvn test-compile:
 *
 * <pre>
 * mvn -o -q -pl data-prep dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -Xmx4g $SPARK_JAVA_OPTIONS -cp data-prep/target/classes:data-prep/target/test-classes:\
 *   model-zoo/target/classes:model-zoo/target/test-classes:$(cat /tmp/cp.txt) \
 *   io.laketune.prep.bench.PrepareBenchmark [repeat=2] [cores=1,2]
 * </pre>
 *
 * Figures: raw = Tokenizer.encode of every document in one thread (the DJL/Rust tokenizer alone);
 * end-to-end = the whole job in Spark local[cores] (read, parse, render, tokenize with offsets,
 * mask, hash, shuffle, pack, write zstd Parquet), tokens written / wall time / cores.
 */
public final class PrepareBenchmark {

  private static final ObjectMapper JSON = new ObjectMapper();

  private PrepareBenchmark() {}

  public static void main(String[] args) throws Exception {
    int repeat = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    String[] coreCounts = (args.length > 1 ? args[1] : "1,2").split(",");
    List<String[]> chapters = chapters(kjv());
    Path dir = Files.createTempDirectory("laketune-bench");
    Path text = dir.resolve("kjv-text.jsonl");
    Path chat = dir.resolve("kjv-chat.jsonl");
    writeCorpus(chapters, repeat, text, chat);
    System.out.printf(Locale.ROOT, "corpus: %d chapters × %d = %d documents, %.1f MB of JSONL (text format)%n",
        chapters.size(), repeat, chapters.size() * repeat, Files.size(text) / 1e6);

    for (String name : List.of("llama3", "qwen3")) {
      Path model = TokenizerFixtures.modelDir(name);
      try (Tokenizer tokenizer = Tokenizer.load(model)) {
        double[] raw = rawRate(tokenizer, chapters, repeat);
        System.out.printf(Locale.ROOT, "%s raw encode, 1 thread: %,.0f tokens/s (%,d tokens); encodeWithOffsets: %,.0f tokens/s%n",
            name, raw[0], (long) raw[2], raw[1]);
      }
      for (String cores : coreCounts) {
        int n = Integer.parseInt(cores.trim());
        SparkSession spark = SparkSession.builder().master("local[" + n + "]").appName("bench")
            .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
          for (String format : List.of("text", "chat")) {
            if (format.equals("chat") && name.equals("gpt2")) {
              continue;
            }
            Path input = format.equals("text") ? text : chat;
            String out = dir.resolve(name + "-" + format + "-" + n).toUri().toString();
            PrepConfig config = PrepConfigParser.parse(ConfigFactory.parseString(
                "laketune.prep { input = \"" + input.toUri() + "\", output = \"" + out + "\", tokenizer = \""
                    + model + "\", format.type = " + format + ", length.seq_len = 4096, progress_seconds = 0,"
                    + " read.split_bytes = 4m, split.validation_fraction = 0.01 }"), List.of());
            // One warm-up run loads the tokenizer and JIT-compiles; the second is timed.
            run(spark, config, out + "-warmup");
            long start = System.nanoTime();
            Manifest m = run(spark, config, out);
            double seconds = (System.nanoTime() - start) / 1e9;
            long tokens = m.splits().values().stream().mapToLong(Manifest.SplitInfo::tokens).sum();
            System.out.printf(Locale.ROOT,
                "%s %s end-to-end, local[%d]: %,.0f tokens/s = %,.0f tokens/s per core (%,d tokens in %.1f s)%n",
                name, format, n, tokens / seconds, tokens / seconds / n, tokens, seconds);
          }
        } finally {
          spark.stop();
        }
      }
    }
  }

  private static Manifest run(SparkSession spark, PrepConfig config, String output) throws IOException {
    PrepConfig at = new PrepConfig(config.input(), config.source(), output, true, config.tokenizer(), config.format(),
        config.labels(), config.length(), config.pack(), config.split(), config.dedup(), config.seed(),
        config.maxRejectFraction(), config.shardTokens(), config.splitBytes(), config.progressSeconds(),
        config.resolvedJson());
    return PrepareJob.run(spark, at, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  /** {tokens/s of encode, tokens/s of encodeWithOffsets, tokens}, best of three passes. */
  private static double[] rawRate(Tokenizer tokenizer, List<String[]> chapters, int repeat) {
    double best = 0;
    double bestOffsets = 0;
    long tokens = 0;
    for (int pass = 0; pass < 3; pass++) {
      long start = System.nanoTime();
      tokens = 0;
      for (int r = 0; r < repeat; r++) {
        for (String[] chapter : chapters) {
          tokens += tokenizer.encode(chapter[1], false).length;
        }
      }
      best = Math.max(best, tokens / ((System.nanoTime() - start) / 1e9));
      start = System.nanoTime();
      for (int r = 0; r < repeat; r++) {
        for (String[] chapter : chapters) {
          tokenizer.encodeWithOffsets(chapter[1], false);
        }
      }
      bestOffsets = Math.max(bestOffsets, tokens / ((System.nanoTime() - start) / 1e9));
    }
    return new double[] {best, bestOffsets, tokens};
  }

  /** The King James Bible as plain text, from the bible-kjv-text package. */
  private static String kjv() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("bible", "-l", "0", "gen1:1-rev22:21").redirectErrorStream(false).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (p.waitFor() != 0 || out.length < 1_000_000) {
      throw new IllegalStateException("the bible program of Debian's bible-kjv-text package gave no text;"
          + " install it with apt-get install bible-kjv-text.");
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  /** {title, text} per chapter: a line without leading spaces starts a chapter ("Genesis 1"). */
  private static List<String[]> chapters(String bible) {
    List<String[]> out = new ArrayList<>();
    String title = null;
    StringBuilder text = new StringBuilder();
    for (String line : bible.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      if (!line.startsWith(" ")) {
        if (title != null) {
          out.add(new String[] {title, text.toString().strip()});
        }
        title = line.strip();
        text.setLength(0);
      } else {
        text.append(line.strip().replaceFirst("^\\d+ ", "")).append('\n');
      }
    }
    out.add(new String[] {title, text.toString().strip()});
    return out;
  }

  /** Text: {"text": chapter}. Chat: the user asks for the chapter, the assistant recites it. */
  private static void writeCorpus(List<String[]> chapters, int repeat, Path text, Path chat) throws IOException {
    StringBuilder t = new StringBuilder();
    StringBuilder c = new StringBuilder();
    for (int r = 0; r < repeat; r++) {
      for (String[] chapter : chapters) {
        ObjectNode doc = JSON.createObjectNode();
        doc.put("text", chapter[0] + (r > 0 ? " (copy " + r + ")" : "") + "\n\n" + chapter[1]);
        t.append(JSON.writeValueAsString(doc)).append('\n');
        ObjectNode conv = JSON.createObjectNode();
        var messages = conv.putArray("messages");
        messages.addObject().put("role", "user").put("content", "Recite " + chapter[0] + (r > 0 ? " again (" + r + ")" : "") + ".");
        messages.addObject().put("role", "assistant").put("content", chapter[1]);
        c.append(JSON.writeValueAsString(conv)).append('\n');
      }
    }
    Files.writeString(text, t);
    Files.writeString(chat, c);
  }
}
