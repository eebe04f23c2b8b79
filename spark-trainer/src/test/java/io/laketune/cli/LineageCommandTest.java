package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.checkpoint.ModelIdentity;
import io.laketune.io.SafetensorsReader;
import io.laketune.model.HfModels;
import io.laketune.peft.PeftAdapterFiles;
import io.laketune.prep.source.LakehouseConf;
import io.laketune.train.Lineage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lineage end to end through the CLI: a Delta table prepared at its latest version, a LoRA run on
 * it whose checkpoints, adapter and merged model record that version (in laketune_lineage.json and
 * in their safetensors metadata, which PEFT-style loading ignores), {@code inspect} showing it,
 * {@code prepare --from} reproducing the dataset after the table moved on, and a resumed run
 * refusing the dataset once it is prepared from the newer version.
 */
@Tag("integration")
class LineageCommandTest {
  @TempDir Path dir;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final StructType SCHEMA = new StructType().add("id", DataTypes.LongType)
      .add("text", DataTypes.StringType);

  /** Appends rows from..to-1 to the Delta table with a short-lived session, as another pipeline would. */
  private static void append(String table, int from, int to) {
    SparkSession spark = SparkSession.builder().config(LakehouseConf.apply(new SparkConf()))
        .master("local[1]").appName("writer").config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
    try {
      List<Row> rows = new ArrayList<>();
      for (long i = from; i < to; i++) {
        rows.add(RowFactory.create(i, "The " + (i % 7) + " ships sailed north, and " + i + " sailed south again."));
      }
      spark.createDataFrame(rows, SCHEMA).write().format("delta").mode("append").save(table);
    } finally {
      spark.stop();
    }
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  @Test
  void anAdapterPointsBackToTheTableVersionAndAResumeRefusesAnotherSnapshot() throws Exception {
    Path model = TrainCommandTest.tinyModel(dir);
    String table = dir.resolve("lake/ships").toUri().toString();
    append(table, 0, 50);
    append(table, 50, 80);   // version 1
    Path data = dir.resolve("data");
    Files.writeString(dir.resolve("prep.conf"), "laketune.prep { source.format = delta, input = \"" + table
        + "\", output = \"" + data + "\", tokenizer = \"" + model + "\", format.type = text, length.seq_len = 32,"
        + " split.validation_fraction = 0.2, progress_seconds = 0 }");
    EvalCommandTest.Run preview = EvalCommandTest.cli("inspect", "--config", dir.resolve("prep.conf").toString(),
        "--n", "1", "--no-tokens");
    assertEquals(0, preview.code(), preview.err());
    assertTrue(preview.out().contains("is not prepared yet: the first 1 rows of delta "), preview.out());
    assertTrue(preview.out().contains("── row 1 of file:") && preview.out().contains("/lake/ships/part-"), preview.out());
    EvalCommandTest.Run prep = EvalCommandTest.cli("prepare", "--config", dir.resolve("prep.conf").toString(),
        "--master", "local[2]");
    assertEquals(0, prep.code(), prep.err());
    assertTrue(prep.out().contains("records read 80: kept 80"), prep.out());

    Path run = dir.resolve("run");
    Files.writeString(dir.resolve("train.conf"), "laketune.train { model = \"" + model + "\", data = \"" + data
        + "\", output = \"" + run + "\", method = lora, lora { r = 2, alpha = 4, target_modules = all-linear },"
        + " workers = 1, batch.micro_batch_size = 2, max_steps = 4, checkpoint.every_steps = 2,"
        + " export_merged = true }");
    EvalCommandTest.Run train = EvalCommandTest.cli("train", "--config", dir.resolve("train.conf").toString());
    assertEquals(0, train.code(), train.err());

    String location = JSON.readTree(data.resolve("manifest.json").toFile()).path("source").path("location").asText();
    ModelIdentity base = ModelIdentity.of(model);
    for (String artifact : List.of("final/adapter", "final/merged", "checkpoints/step-2", "checkpoints/step-4")) {
      Path at = run.resolve(artifact);
      JsonNode lineage = JSON.readTree(at.resolve(Lineage.FILE).toFile());
      assertEquals("laketune-lineage", lineage.get("format").asText(), artifact);
      assertEquals(1, lineage.get("format_version").asInt());
      JsonNode source = lineage.path("dataset").path("source");
      assertEquals("delta", source.get("format").asText(), artifact);
      assertEquals(1, source.get("version").asLong(), artifact);
      assertEquals(location, source.get("location").asText());
      assertEquals(sha256(data.resolve("manifest.json")), lineage.path("dataset").get("manifest_sha256").asText());
      assertEquals(base.weightsSha256(), lineage.path("base_model").get("weights_sha256").asText());
      assertEquals(base.configSha256(), lineage.path("base_model").get("config_sha256").asText());
      assertEquals(64, lineage.get("config_sha256").asText().length());
      assertEquals(artifact.startsWith("checkpoints") ? "checkpoint" : artifact.substring(6),
          lineage.get("artifact").asText());
      try (Stream<Path> files = Files.list(at)) {
        for (Path weights : files.filter(f -> f.toString().endsWith(".safetensors")
            && !f.getFileName().toString().equals("optimizer.safetensors")).toList()) {
          try (SafetensorsReader r = SafetensorsReader.open(weights)) {
            Map<String, String> metadata = r.metadata();
            assertEquals("pt", metadata.get("format"), "transformers requires format = pt");
            assertEquals(lineage, JSON.readTree(metadata.get(Lineage.METADATA_KEY)), weights.toString());
          }
        }
      }
    }
    assertEquals(2, JSON.readTree(run.resolve("checkpoints/step-2").resolve(Lineage.FILE).toFile()).get("step").asInt());
    // The files still load as an adapter and a model.
    PeftAdapterFiles.readConfig(run.resolve("final/adapter"));
    HfModels.load(run.resolve("final/merged"), HfModels.Options.inference());

    EvalCommandTest.Run shown = EvalCommandTest.cli("inspect", "--run", run.toString());
    assertEquals(0, shown.code(), shown.err());
    assertTrue(shown.out().contains("final/adapter: adapter of a lora run, step 4"), shown.out());
    assertTrue(shown.out().contains("dataset: delta " + location + " version 1 (manifest sha256 "), shown.out());
    EvalCommandTest.Run described = EvalCommandTest.cli("inspect", "--dataset", data.toString(), "--n", "1");
    assertEquals(0, described.code(), described.err());
    assertTrue(described.out().contains("source: delta " + location + " version 1 (committed "), described.out());

    // The table moves on; the manifest still reproduces version 1's dataset byte for byte.
    append(table, 80, 100);
    Path again = dir.resolve("data-again");
    EvalCommandTest.Run replay = EvalCommandTest.cli("prepare", "--from", data.toString(), "--master", "local[2]",
        "--set", "output=\"" + again + "\"");
    assertEquals(0, replay.code(), replay.err());
    try (Stream<Path> shards = Files.list(data.resolve("train"))) {
      for (Path shard : shards.filter(f -> f.toString().endsWith(".parquet")).toList()) {
        assertArrayEquals(Files.readAllBytes(shard), Files.readAllBytes(again.resolve("train").resolve(shard.getFileName())));
      }
    }

    // Prepared again from the latest version (2), the dataset is another one: the run refuses to resume on it.
    EvalCommandTest.Run latest = EvalCommandTest.cli("prepare", "--config", dir.resolve("prep.conf").toString(),
        "--master", "local[2]", "--set", "overwrite=true");
    assertEquals(0, latest.code(), latest.err());
    EvalCommandTest.Run resumed = EvalCommandTest.cli("train", "--config", dir.resolve("train.conf").toString());
    assertEquals(1, resumed.code());
    String refusal = resumed.err().strip();
    assertEquals(1, refusal.lines().count(), refusal);
    assertTrue(refusal.contains(run + " holds checkpoints of a run on a different dataset: step-4 was trained on delta "
        + location + " version 1 (manifest sha256 "), refusal);
    assertTrue(refusal.contains("but " + data + " is delta " + location + " version 2 (manifest sha256 "), refusal);
    assertTrue(refusal.endsWith("choose a new output directory to start afresh, or prepare the dataset again from the"
        + " configuration in its manifest (it pins the version read)."), refusal);
  }
}
