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
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import io.laketune.checkpoint.ModelIdentity;
import io.laketune.model.SharedModels;
import io.laketune.prep.source.LakehouseConf;
import io.laketune.prep.source.TableSource;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Throughput of laketune prepare against the raw encode rate of the same tokenizer on the same
 * text, for the same records as JSONL, as a Parquet directory and as a Delta table; and what lineage
 * costs: resolving a table's version before the job, and hashing a base model's weights (what the
 * trainer does once per run). Not a test: a main that prints figures.
 *
 * <p>Text: the King James Bible, public domain, from Debian's bible-kjv-text package (apt-get
 * install bible-kjv-text; this runs its `bible` program to get plain text), one document per
 * chapter, the corpus repeated. Run from the repository root after mvn test-compile:
 *
 * <pre>
 * mvn -o -q -pl data-prep dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -Xmx4g $SPARK_JAVA_OPTIONS -cp data-prep/target/classes:data-prep/target/test-classes:\
 *   model-zoo/target/classes:model-zoo/target/test-classes:$(cat /tmp/cp.txt) \
 *   io.laketune.prep.bench.PrepareBenchmark [repeat=2] [cores=1,2] [tokenizers=llama3,qwen3] \
 *   [inputs=jsonl,parquet,delta] [hash_mb=1024] [corpus=kjv|FILE.jsonl] [runs=1]
 * </pre>
 *
 * Without the bible program, corpus= names a JSONL file of {"text"} or {"prompt", "completion"}
 * records to use instead (see {@link #passages}).
 *
 * Figures: raw = Tokenizer.encode of every document in one thread (the DJL/Rust tokenizer alone);
 * end-to-end = the whole job in Spark local[cores] (read, parse or convert rows, render, tokenize
 * with offsets, mask, hash, shuffle, pack, write zstd Parquet), tokens written / wall time / cores,
 * the median of `runs` timed runs after a warm-up.
 * The Parquet and Delta inputs hold the same records in as many files as the JSONL has chunks, so
 * the job gets the same number of tasks from each.
 */
public final class PrepareBenchmark {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final StructType TEXT = new StructType().add("text", DataTypes.StringType);
  private static final StructType MESSAGE = new StructType().add("role", DataTypes.StringType)
      .add("content", DataTypes.StringType);
  private static final StructType CHAT = new StructType().add("messages", DataTypes.createArrayType(MESSAGE));

  private PrepareBenchmark() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>(Map.of("repeat", "2", "cores", "1,2", "tokenizers", "llama3,qwen3",
        "inputs", "jsonl,parquet,delta", "hash_mb", "1024", "corpus", "kjv", "runs", "1"));
    for (String arg : args) {
      int eq = arg.indexOf('=');
      if (eq < 0 || !a.containsKey(arg.substring(0, eq))) {
        throw new IllegalArgumentException("arguments are KEY=VALUE with KEY one of " + a.keySet() + ": " + arg);
      }
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    int repeat = Integer.parseInt(a.get("repeat"));
    String[] coreCounts = a.get("cores").split(",");
    List<String> tokenizers = List.of(a.get("tokenizers").split(","));
    List<String> inputs = List.of(a.get("inputs").split(","));
    long hashMb = Long.parseLong(a.get("hash_mb"));
    int runs = Integer.parseInt(a.get("runs"));
    List<String[]> chapters = a.get("corpus").equals("kjv") ? chapters(kjv()) : passages(Path.of(a.get("corpus")));
    Path dir = Files.createTempDirectory("laketune-bench");
    Path text = dir.resolve("kjv-text.jsonl");
    Path chat = dir.resolve("kjv-chat.jsonl");
    writeCorpus(chapters, repeat, text, chat);
    System.out.printf(Locale.ROOT, "corpus %s: %d documents × %d = %d, %.1f MB of JSONL (text format)%n",
        a.get("corpus"), chapters.size(), repeat, chapters.size() * repeat, Files.size(text) / 1e6);
    int files = (int) Math.max(1, (Files.size(text) + SPLIT_BYTES - 1) / SPLIT_BYTES);
    tables(chapters, repeat, dir, files);

    for (String name : tokenizers) {
      Path model = TokenizerFixtures.modelDir(name);
      try (Tokenizer tokenizer = Tokenizer.load(model)) {
        double[] raw = rawRate(tokenizer, chapters, repeat);
        System.out.printf(Locale.ROOT, "%s raw encode, 1 thread: %,.0f tokens/s (%,d tokens); encodeWithOffsets: %,.0f tokens/s%n",
            name, raw[0], (long) raw[2], raw[1]);
      }
      for (String cores : coreCounts) {
        int n = Integer.parseInt(cores.trim());
        SparkSession spark = session(n);
        try {
          for (String format : List.of("text", "chat")) {
            Map<String, PrepConfig> configs = new LinkedHashMap<>();
            for (String input : inputs) {
              String source = switch (input) {
                case "jsonl" -> "input = \"" + (format.equals("text") ? text : chat).toUri() + "\"";
                case "parquet" -> "source.format = parquet, input = \"" + dir.resolve("parquet-" + format).toUri() + "\"";
                case "delta" -> "source.format = delta, input = \"" + dir.resolve("delta-" + format).toUri() + "\"";
                default -> throw new IllegalArgumentException("inputs are jsonl, parquet, delta: " + input);
              };
              String out = dir.resolve(name + "-" + format + "-" + input + "-" + n).toUri().toString();
              configs.put(input, PrepConfigParser.parse(ConfigFactory.parseString(
                  "laketune.prep { " + source + ", output = \"" + out + "\", tokenizer = \""
                      + model + "\", format.type = " + format + ", length.seq_len = 4096, progress_seconds = 0,"
                      + " read.split_bytes = " + SPLIT_BYTES + ", split.validation_fraction = 0.01 }"), List.of()));
              // One warm-up run per input loads the tokenizer and JIT-compiles.
              run(spark, configs.get(input), configs.get(input).output() + "-warmup");
            }
            // Timed runs go round the inputs, so a neighbour's load on a shared machine hits them alike.
            Map<String, double[]> seconds = new LinkedHashMap<>();
            Map<String, Long> tokens = new LinkedHashMap<>();
            for (int r = 0; r < runs; r++) {
              for (String input : inputs) {
                long start = System.nanoTime();
                Manifest m = run(spark, configs.get(input), configs.get(input).output());
                seconds.computeIfAbsent(input, k -> new double[runs])[r] = (System.nanoTime() - start) / 1e9;
                tokens.put(input, m.splits().values().stream().mapToLong(Manifest.SplitInfo::tokens).sum());
              }
            }
            for (String input : inputs) {
              double[] t = seconds.get(input);
              Arrays.sort(t);
              double median = t[runs / 2];
              System.out.printf(Locale.ROOT,
                  "%s %s %s end-to-end, local[%d]: %,.0f tokens/s = %,.0f tokens/s per core (%,d tokens; median %.1f s"
                      + " of %d runs, %.1f–%.1f s)%n",
                  name, format, input, n, tokens.get(input) / median, tokens.get(input) / median / n, tokens.get(input),
                  median, runs, t[0], t[runs - 1]);
              if (!input.equals("jsonl")) {
                long t0 = System.nanoTime();
                TableSource.resolve(spark, configs.get(input));
                System.out.printf(Locale.ROOT, "  lineage: resolving the %s source's version and files before the job:"
                    + " %.0f ms%n", input, (System.nanoTime() - t0) / 1e6);
              }
            }
          }
        } finally {
          spark.stop();
        }
      }
    }
    hashing(dir, hashMb);
  }

  /** Bytes per JSONL chunk: the job's tasks (and as many Parquet and Delta files). */
  private static final long SPLIT_BYTES = 1L << 20;

  private static SparkSession session(int cores) {
    return SparkSession.builder().master("local[" + cores + "]").appName("bench")
        .config(LakehouseConf.apply(new SparkConf(false)))
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
  }

  /** The same records as Parquet and as a Delta table, in {@code files} files each. */
  private static void tables(List<String[]> chapters, int repeat, Path dir, int files) {
    SparkSession spark = session(2);
    try {
      List<Row> texts = new ArrayList<>();
      List<Row> chats = new ArrayList<>();
      for (int r = 0; r < repeat; r++) {
        for (String[] chapter : chapters) {
          texts.add(RowFactory.create(textOf(chapter, r)));
          chats.add(RowFactory.create(List.of(RowFactory.create("user", promptOf(chapter, r)),
              RowFactory.create("assistant", chapter[1]))));
        }
      }
      for (String format : List.of("text", "chat")) {
        Dataset<Row> df = spark.createDataFrame(format.equals("text") ? texts : chats, format.equals("text") ? TEXT : CHAT)
            .repartition(files);
        df.write().parquet(dir.resolve("parquet-" + format).toString());
        df.write().format("delta").save(dir.resolve("delta-" + format).toString());
      }
    } finally {
      spark.stop();
    }
  }

  /**
   * What lineage costs the trainer: SHA-256 of a base model's weights, streamed once ({@link
   * ModelIdentity}), on the shared stories260K model and on a synthetic file of hashMb MiB.
   */
  private static void hashing(Path dir, long hashMb) throws IOException {
    try {
      Path stories = SharedModels.stories260KHf();
      long t0 = System.nanoTime();
      ModelIdentity id = ModelIdentity.of(stories);
      System.out.printf(Locale.ROOT, "lineage: base model identity of stories260K (%.2f MB of weights): %.1f ms%n",
          id.weightBytes() / 1e6, (System.nanoTime() - t0) / 1e6);
    } catch (RuntimeException e) {
      System.out.println("lineage: stories260K not found (" + e.getMessage() + "); skipped");
    }
    Path model = Files.createDirectories(dir.resolve("hash-model"));
    Path weights = model.resolve("model.safetensors");
    byte[] block = new byte[8 << 20];
    new java.util.Random(1).nextBytes(block);
    try (var out = Files.newOutputStream(weights)) {
      for (long written = 0; written < hashMb << 20; written += block.length) {
        out.write(block);
      }
    }
    Files.writeString(model.resolve("config.json"), "{}");
    for (int pass = 0; pass < 2; pass++) {
      long t0 = System.nanoTime();
      ModelIdentity id = ModelIdentity.of(model);
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "lineage: base model identity of %,d MiB of weights (page cache warm), pass %d:"
          + " %.2f s = %.0f MB/s, so %.0f s for the 16 GB of an 8B model in bf16%n", hashMb, pass + 1, seconds,
          id.weightBytes() / 1e6 / seconds, 16e9 / (id.weightBytes() / seconds));
    }
    Files.delete(weights);
  }

  private static Manifest run(SparkSession spark, PrepConfig config, String output) throws IOException {
    PrepConfig at = new PrepConfig(config.input(), config.source(), output, true, config.tokenizer(), config.format(),
        config.labels(), config.length(), config.pack(), config.split(), config.dedup(), config.seed(),
        config.maxRejectFraction(), config.shardTokens(), config.splitBytes(), config.progressSeconds(), config.tenantColumn(),
        config.tenantInputs(), config.resolvedJson());
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

  /**
   * {title, text} per line of a JSONL file of {"text"} or {"prompt", "completion"} records (the
   * text is prompt + completion), for machines without the bible program: for example the demo's
   * State of the Union passages, spark-trainer/src/main/resources/io/laketune/demo/sotu.jsonl.
   */
  private static List<String[]> passages(Path jsonl) throws IOException {
    List<String[]> out = new ArrayList<>();
    for (String line : Files.readAllLines(jsonl)) {
      if (line.isBlank()) {
        continue;
      }
      var node = JSON.readTree(line);
      String text = node.has("text") ? node.get("text").asText()
          : node.path("prompt").asText() + node.path("completion").asText();
      out.add(new String[] {"Passage " + (out.size() + 1), text});
    }
    return out;
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

  private static String textOf(String[] chapter, int r) {
    return chapter[0] + (r > 0 ? " (copy " + r + ")" : "") + "\n\n" + chapter[1];
  }

  private static String promptOf(String[] chapter, int r) {
    return "Recite " + chapter[0] + (r > 0 ? " again (" + r + ")" : "") + ".";
  }

  /** Text: {"text": chapter}. Chat: the user asks for the chapter, the assistant recites it. */
  private static void writeCorpus(List<String[]> chapters, int repeat, Path text, Path chat) throws IOException {
    StringBuilder t = new StringBuilder();
    StringBuilder c = new StringBuilder();
    for (int r = 0; r < repeat; r++) {
      for (String[] chapter : chapters) {
        ObjectNode doc = JSON.createObjectNode();
        doc.put("text", textOf(chapter, r));
        t.append(JSON.writeValueAsString(doc)).append('\n');
        ObjectNode conv = JSON.createObjectNode();
        var messages = conv.putArray("messages");
        messages.addObject().put("role", "user").put("content", promptOf(chapter, r));
        messages.addObject().put("role", "assistant").put("content", chapter[1]);
        c.append(JSON.writeValueAsString(conv)).append('\n');
      }
    }
    Files.writeString(text, t);
    Files.writeString(chat, c);
  }
}
