package io.laketune.prep.job;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.read.Chunk;
import io.laketune.prep.read.ChunkLines;
import io.laketune.prep.read.InputFile;
import io.laketune.prep.read.InputFiles;
import io.laketune.prep.read.LineCounts;
import io.laketune.prep.source.SourceInfo;
import io.laketune.prep.tokenize.TokenizerCache;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * JSONL input: the files the input patterns expand to, cut into chunks of read.split_bytes, one
 * task per chunk; rejects go to one file per chunk.
 */
final class JsonlInput implements Input {

  private final List<InputFile> files;
  private final String resolvedJson;
  private final List<String> patterns;
  /** Each file's tenant with tenant.inputs, by path; empty otherwise. */
  private final HashMap<String, String> tenantOfFile;

  private JsonlInput(List<InputFile> files, HashMap<String, String> tenantOfFile, PrepConfig config) {
    this.files = files;
    this.tenantOfFile = tenantOfFile;
    this.resolvedJson = config.resolvedJson();
    this.patterns = config.input();
  }

  /** @throws IllegalArgumentException when a pattern matches no file, or two tenants' patterns one file */
  static JsonlInput of(PrepConfig config, Configuration hadoop) throws IOException {
    if (config.tenantInputs().isEmpty()) {
      return new JsonlInput(InputFiles.expand(config.input(), hadoop), new HashMap<>(), config);
    }
    // input is every tenant's patterns in tenant order, so the files are each tenant's, numbered in turn
    HashMap<String, String> tenantOfFile = new HashMap<>();
    List<InputFile> files = new ArrayList<>();
    for (Map.Entry<String, List<String>> tenant : config.tenantInputs().entrySet()) {
      for (InputFile f : InputFiles.expand(tenant.getValue(), hadoop, "laketune.prep.tenant.inputs." + tenant.getKey())) {
        String other = tenantOfFile.putIfAbsent(f.path(), tenant.getKey());
        if (other != null && !other.equals(tenant.getKey())) {
          throw new IllegalArgumentException("laketune.prep.tenant.inputs: " + f.path() + " is an input of tenant "
              + other + " and of tenant " + tenant.getKey() + "; a file's records belong to one tenant: narrow the"
              + " paths so that each file is one tenant's.");
        }
        if (other == null) files.add(new InputFile(files.size(), f.path(), f.length()));
      }
    }
    return new JsonlInput(files, tenantOfFile, config);
  }

  @Override
  public SourceInfo info() {
    long bytes = 0;
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (InputFile f : files) {
        bytes += f.length();
        sha.update((f.path() + "\t" + f.length() + "\n").getBytes(StandardCharsets.UTF_8));
      }
      return new SourceInfo("jsonl", patterns, null, null, null, null, null, null, null, null, null, null, null,
          new SourceInfo.Files(files.size(), bytes, HexFormat.of().formatHex(sha.digest())));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  @Override
  public String pinnedConfig() {
    return resolvedJson;
  }

  @Override
  public String unit() {
    return "lines";
  }

  @Override
  public JavaRDD<Outcome> outcomes(JavaSparkContext sc, PrepConfig config, HadoopConf conf, String fingerprint,
      Progress progress) {
    List<Chunk> chunks = InputFiles.chunks(files, config.splitBytes());
    if (LineCounts.needed(chunks)) {
      progress.stage("counting lines");
      sc.setJobDescription("laketune prepare: count lines of split files");
      List<Long> counts = sc.parallelize(chunks, chunks.size())
          .map(chunk -> LineCounts.count(chunk, conf.get())).collect();
      chunks = LineCounts.number(chunks, counts.stream().mapToLong(Long::longValue).toArray());
    }
    progress.stage("tokenizing");
    sc.setJobDescription("laketune prepare: parse, render, tokenize");
    Progress.Counters counters = progress.counters();
    long maxBytes = config.length().maxRecordBytes();
    String location = config.tokenizer();
    HashMap<String, String> tenants = tenantOfFile;
    return sc.parallelize(chunks, chunks.size()).mapPartitions(it -> {
      Chunk chunk = it.next();
      RecordProcessor processor =
          new RecordProcessor(config, TokenizerCache.get(location, fingerprint, conf.get()));
      return processor.process(chunk, tenants.getOrDefault(chunk.file().path(), ""),
          ChunkLines.open(chunk, maxBytes, conf.get()), counters);
    });
  }

  @Override
  public List<RejectsTask.RejectsFile> writeRejects(JavaRDD<Outcome> outcomes, Tally tally, RejectsTask task) {
    List<RejectsTask.RejectsFile> out = new ArrayList<>(outcomes
        .mapPartitionsWithIndex((i, it) -> {
          RejectsTask.RejectsFile f = task.write(i, it);
          return (f == null ? List.<RejectsTask.RejectsFile>of() : List.of(f)).iterator();
        }, true)
        .collect());
    out.sort(Comparator.comparing(RejectsTask.RejectsFile::path));
    return out;
  }
}
