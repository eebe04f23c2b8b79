package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.laketune.io.SafetensorsReader;
import io.laketune.model.SharedModels;
import io.laketune.prep.write.Manifest;
import io.laketune.train.TenantTrainer;
import io.laketune.train.TrainConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.io.FileUtils;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Many tenants, one job, on the real stories260K model, through {@code prepare} and {@code train} as
 * a user runs them: a tenant column keeps tenants apart in the dataset; {@code tenants = all} trains
 * one adapter per tenant in one Spark application; a tenant's adapter equals that tenant trained
 * alone; a tenant with too few rows, or whose loss is not finite, fails alone; a rerun resumes each
 * tenant where it stopped.
 */
@Tag("integration")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TenantTrainingTest {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Records per tenant: tiny has fewer rows than one step (2 workers x 2 rows) needs. */
  static final Map<String, Integer> RECORDS = Map.of("acme", 40, "globex", 20, "tiny", 3);

  @TempDir static Path dir;
  static Path model;
  static Path data;

  static String story(String tenant, int i, Random rnd) {
    String[] who = tenant.equals("acme") ? new String[] {"Zorbo the dragon", "Pip the fox"}
        : new String[] {"Mia the cat", "Ben the bear"};
    String[] what = {"a red ball", "a blue kite", "a big cake", "a small boat", "a shiny stone"};
    return "Once upon a time, " + who[rnd.nextInt(2)] + " found " + what[i % what.length] + " near the river number "
        + i + ". It was a happy day for " + tenant + ".";
  }

  @BeforeAll
  static void prepare() throws Exception {
    model = SharedModels.stories260KHf();
    List<String> lines = new ArrayList<>();
    Random rnd = new Random(7);
    for (String t : List.of("acme", "globex", "tiny")) {
      for (int i = 0; i < RECORDS.get(t); i++) {
        lines.add(JSON.writeValueAsString(Map.of("customer", t, "text", story(t, i, rnd))));
      }
    }
    lines.add(JSON.writeValueAsString(Map.of("text", "a story without a customer")));
    Files.write(dir.resolve("all.jsonl"), lines);
    data = dir.resolve("data");
    Files.writeString(dir.resolve("prep.conf"), "laketune.prep { input = \"" + dir.resolve("all.jsonl") + "\", output = \""
        + data + "\", tokenizer = \"" + model + "\", format.type = text, length.seq_len = 64, pack.mode = none,"
        + " split.validation_fraction = 0.2, tenant.column = customer, rejects.max_fraction = 0.1 }");
    EvalCommandTest.Run r = EvalCommandTest.cli("prepare", "--config", dir.resolve("prep.conf").toString());
    assertEquals(0, r.code(), r.err());
  }

  @Test
  @Order(1)
  void prepareKeepsTenantsApart() throws Exception {
    Configuration conf = new Configuration();
    Manifest top = Manifest.read(new org.apache.hadoop.fs.Path(data.toString()), conf);
    assertEquals(List.of("acme", "globex", "tiny"), List.copyOf(top.tenants().keySet()));
    assertEquals(1L, top.counts().rejectedByReason().get("missing_field"), "a record without the tenant column is rejected");
    long rows = 0;
    for (Map.Entry<String, Manifest.TenantInfo> e : top.tenants().entrySet()) {
      Manifest own = Manifest.read(new org.apache.hadoop.fs.Path(data.resolve(e.getValue().path()).toString()), conf);
      assertEquals(e.getKey(), own.tenant());
      assertEquals(RECORDS.get(e.getKey()).longValue(), own.counts().kept(), e.getKey() + ": every record kept, in its tenant");
      assertEquals(own.counts().kept(), e.getValue().counts().kept());
      for (String split : List.of("train", "validation")) {
        assertEquals(own.splits().get(split).rows(), e.getValue().splits().get(split).rows());
        for (Manifest.ShardInfo s : own.splits().get(split).shards()) {
          assertTrue(Files.isRegularFile(data.resolve(e.getValue().path()).resolve(s.path())), s.path());
        }
      }
      rows += own.splits().get("train").rows() + own.splits().get("validation").rows();
    }
    assertTrue(top.tenants().get("acme").splits().get("validation").rows() > 0, "the split is made per tenant");
    assertEquals(top.splits().get("train").rows() + top.splits().get("validation").rows(), rows);
    assertEquals(top.counts().kept(), 63);
  }

  static String conf(String name, String extra) throws Exception {
    return conf0(name, "tenants = all, tenant_overrides { acme { max_steps = 6 }, globex { lora.r = 2, lora.alpha = 4 } } "
        + extra);
  }

  static String conf0(String name, String extra) throws Exception {
    Path file = dir.resolve(name + ".conf");
    Files.writeString(file, "laketune.train { model = \"" + model + "\", data = \"" + data + "\", output = \""
        + dir.resolve(name) + "\", method = lora, lora { r = 4, alpha = 8, target_modules = all-linear, dropout = 0.0 },"
        + " workers = 2, batch.micro_batch_size = 2, max_steps = 4, optimizer.lr = 5e-3, checkpoint.every_steps = 2,"
        + " " + extra + " }");
    return file.toString();
  }

  static Map<String, INDArray> adapter(Path dir) throws Exception {
    Map<String, INDArray> out = new java.util.TreeMap<>();
    try (SafetensorsReader r = SafetensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
      for (var t : r.tensors()) out.put(t.name(), r.read(t.name(), DataType.DOUBLE));
    }
    return out;
  }

  static double maxDiff(Map<String, INDArray> a, Map<String, INDArray> b) {
    assertEquals(a.keySet(), b.keySet());
    double d = 0;
    for (String k : a.keySet()) d = Math.max(d, a.get(k).sub(b.get(k)).amaxNumber().doubleValue());
    return d;
  }

  @Test
  @Order(2)
  void oneJobTrainsEveryTenantAsAloneAndATenantWithTooFewRowsFailsAlone() throws Exception {
    EvalCommandTest.Run r = EvalCommandTest.cli("train", "--config", conf("multi", ""));
    assertEquals(1, r.code(), "a failed tenant makes the exit code 1: " + r.out() + r.err());
    assertTrue(r.err().contains("1 of 3 tenants failed"), r.err());
    Path out = dir.resolve("multi");
    JsonNode summary = JSON.readTree(out.resolve("tenants.json").toFile());
    assertEquals("laketune-tenants", summary.get("format").asText());
    Map<String, JsonNode> byName = new java.util.HashMap<>();
    summary.get("tenants").forEach(t -> byName.put(t.get("tenant").asText(), t));
    assertEquals("failed", byName.get("tiny").get("status").asText());
    assertTrue(byName.get("tiny").get("error").asText().contains("rows but one step needs 4"), byName.get("tiny").toString());
    assertEquals("done", byName.get("acme").get("status").asText());
    assertEquals(6, byName.get("acme").get("steps").asLong(), "per-tenant max_steps");
    assertEquals(4, byName.get("globex").get("steps").asLong());
    assertTrue(byName.get("acme").get("best_validation_loss").isNumber());
    assertTrue(byName.get("acme").get("tokens").asLong() > 0 && byName.get("acme").get("rows").asLong() > 0);
    for (String t : List.of("acme", "globex")) {
      Path tdir = out.resolve("tenants").resolve(t);
      for (String f : List.of("final/adapter/adapter_config.json", "final/adapter/adapter_model.safetensors",
          "final/adapter/laketune_lineage.json", "metrics.jsonl", "loss.png", "checkpoints/step-4/trainer_state.json")) {
        assertTrue(Files.isRegularFile(tdir.resolve(f)), t + ": " + f);
      }
    }
    assertEquals(2, JSON.readTree(out.resolve("tenants/globex/final/adapter/adapter_config.json").toFile()).get("r").asInt(),
        "per-tenant lora.r");

    // each tenant alone, with the same seed and config, as laketune train of its directory
    for (String t : List.of("acme", "globex")) {
      List<String> args = new ArrayList<>(List.of("train", "--config", conf0("solo-" + t, ""),
          "--set", "data=" + data.resolve("tenants/" + t)));
      args.addAll(t.equals("acme") ? List.of("--set", "max_steps=6") : List.of("--set", "lora.r=2", "--set", "lora.alpha=4"));
      EvalCommandTest.Run alone = EvalCommandTest.cli(args.toArray(new String[0]));
      assertEquals(0, alone.code(), alone.err());
      double d = maxDiff(adapter(out.resolve("tenants/" + t + "/final/adapter")),
          adapter(dir.resolve("solo-" + t).resolve("final/adapter")));
      System.out.printf("tenant %s: multi-tenant vs alone, max |difference| of the adapter %.3g%n", t, d);
      assertTrue(d <= 1e-6, t + ": the multi-tenant adapter equals the one trained alone: " + d);
    }
  }

  @Test
  @Order(3)
  void aRerunResumesEachTenantWhereItStopped() throws Exception {
    Path out = dir.resolve("multi");
    Map<String, INDArray> acmeBefore = adapter(out.resolve("tenants/acme/final/adapter"));
    // acme stopped after its step-4 checkpoint; globex had finished
    FileUtils.deleteDirectory(out.resolve("tenants/acme/checkpoints/step-6").toFile());
    FileUtils.deleteDirectory(out.resolve("tenants/acme/final").toFile());
    EvalCommandTest.Run r = EvalCommandTest.cli("train", "--config", conf("multi", ""));
    assertEquals(1, r.code(), r.err());
    assertTrue(r.out().contains("tenant acme resumes from checkpoint step-4"), r.out());
    assertTrue(r.out().contains("tenant globex resumes from checkpoint step-4"), r.out());
    assertEquals(0, maxDiff(acmeBefore, adapter(out.resolve("tenants/acme/final/adapter"))), "the resumed tenant ends"
        + " exactly where the uninterrupted run did");
  }

  @Test
  @Order(4)
  void aTenantWithANonFiniteLossFailsAndTheOthersTrain() throws Exception {
    TrainConfig cfg = TrainConfig.parse(ConfigFactory.parseFile(new java.io.File(conf("nonfinite",
        ", non_finite = stop, tenants = [acme, globex]"))), List.of());
    SparkSession spark = LocalSpark.session("tenants test", null, "local[2]");
    try {
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      sc.setLocalProperty("spark.laketune.test.nonFiniteTenant", "globex");
      TenantTrainer.Result r = new TenantTrainer(sc, cfg, new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).run();
      assertEquals("failed", r.tenant("globex").status());
      assertTrue(r.tenant("globex").error().contains("non-finite loss"), r.tenant("globex").error());
      assertEquals("done", r.tenant("acme").status());
      assertEquals(6, r.tenant("acme").steps());
      assertNull(r.tenant("acme").error());
    } finally {
      spark.stop();
    }
  }

  @Test
  @Order(5)
  void badTenantConfigurationsAreOneSentence() throws Exception {
    Configuration conf = new Configuration();
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> TenantTrainer.tenants(
        TrainConfig.parse(ConfigFactory.parseFile(new java.io.File(conf("bad1", ", tenants = [acme, globex, initech]"))), List.of()),
        conf));
    assertEquals("laketune.train.tenants names \"initech\", which " + data + " does not hold; its tenants are acme,"
        + " globex, tiny.", unknown.getMessage());
    IllegalArgumentException notTenanted = assertThrows(IllegalArgumentException.class, () -> TenantTrainer.tenants(
        TrainConfig.parse(ConfigFactory.parseFile(new java.io.File(conf("bad2", ""))), List.of("data=" + data.resolve(
            "tenants/acme"))), conf));
    assertTrue(notTenanted.getMessage().startsWith("laketune.train.tenants is set, but " + data.resolve("tenants/acme")
        + " was prepared without tenants: prepare it with laketune.prep.tenant.column"), notTenanted.getMessage());
    IllegalArgumentException key = assertThrows(IllegalArgumentException.class, () -> TrainConfig.parse(
        ConfigFactory.parseFile(new java.io.File(conf("bad3", ", tenant_overrides.acme.workers = 4"))), List.of()));
    assertTrue(key.getMessage().startsWith("laketune.train.tenant_overrides.acme.workers") && key.getMessage().contains(
        "is not a key a tenant may override; those are max_steps, epochs"), key.getMessage());
    IllegalArgumentException listed = assertThrows(IllegalArgumentException.class, () -> TrainConfig.parse(
        ConfigFactory.parseFile(new java.io.File(conf("bad4", ", tenants = [acme]"))), List.of()));
    assertTrue(listed.getMessage().contains("tenant_overrides.globex") && listed.getMessage().contains(
        "names a tenant that tenants does not list (acme)"), listed.getMessage());
    IllegalArgumentException full = assertThrows(IllegalArgumentException.class, () -> TrainConfig.parse(
        ConfigFactory.parseFile(new java.io.File(conf("bad5", ", method = full"))), List.of()));
    assertTrue(full.getMessage().contains("one adapter per tenant needs method = lora or qlora"), full.getMessage());
  }
}
