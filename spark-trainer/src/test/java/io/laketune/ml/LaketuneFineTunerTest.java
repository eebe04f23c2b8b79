package io.laketune.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.laketune.cli.Laketune;
import io.laketune.demo.DemoDataset;
import io.laketune.demo.DemoModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark ML API on the demo model: params and their errors; fit (prepare + train, one adapter and
 * one per tenant) inside a Pipeline; transform on a DataFrame of three partitions equals
 * {@code laketune eval} and {@code laketune generate} on the same rows; ML persistence of the estimator,
 * the model and the PipelineModel round-trips.
 */
@Tag("integration")
class LaketuneFineTunerTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path dir;
  static SparkSession spark;
  static Path base;
  static Dataset<Row> sotu;
  static PipelineModel fitted;

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkSession.builder().master("local[2]").appName("laketune-ml-test").config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1").getOrCreate();
    base = dir.resolve("base");
    DemoModel.write(base);
    DemoDataset.write(dir.resolve(DemoDataset.FILE_NAME));
    sotu = spark.read().json(dir.resolve(DemoDataset.FILE_NAME).toString()).limit(48)
        .withColumn("customer", functions.when(functions.monotonically_increasing_id().mod(2).equalTo(0), "acme").otherwise("globex"));
    fitted = new Pipeline().setStages(new PipelineStage[] {tuner("single")}).fit(sotu);
  }

  @AfterAll
  static void tearDown() {
    if (spark != null) spark.stop();
  }

  static LaketuneFineTuner tuner(String name) {
    return new LaketuneFineTuner().setModel(base.toString()).setOutputDir(dir.resolve(name).toString())
        .setFormatType("prompt_completion").setInputCol("prompt").setCompletionCol("completion").setSeqLen(256)
        .setValidationFraction(0.1).setLoraR(4).setLoraAlpha(8).setLoraDropout(0).setTargetModules("all-linear")
        .setWorkers(2).setMicroBatchSize(2).setMaxSteps(4).setLearningRate(5e-3)
        .setTrainConf("checkpoint.every_steps = 0, eval.every_steps = 0");
  }

  @Test
  void paramsDefaultToTheRunFilesReferenceConf() {
    Config ref = ConfigFactory.defaultReference();
    LaketuneFineTuner t = new LaketuneFineTuner();
    assertEquals(ref.getString("laketune.train.method"), t.getMethod());
    assertEquals(ref.getInt("laketune.train.lora.r"), t.getLoraR());
    assertEquals(ref.getDouble("laketune.train.lora.alpha"), t.getLoraAlpha());
    assertEquals(ref.getStringList("laketune.train.lora.target_modules"), List.of(t.getTargetModules()));
    assertEquals(ref.getDouble("laketune.train.optimizer.lr"), t.getLearningRate());
    assertEquals(ref.getLong("laketune.train.max_steps"), t.getMaxSteps());
    assertEquals(ref.getInt("laketune.prep.length.seq_len"), t.getSeqLen());
    assertEquals(ref.getString("laketune.prep.format.fields.text"), t.getInputCol());
    // A set param wins over the same key in trainConf; trainConf's other keys come through.
    Config train = t.setModel("m").setOutputDir("o").setLoraR(8).setTrainConf("lora.r = 2, schedule.type = constant")
        .trainSection("d", "o/run");
    assertEquals(8, train.getInt("laketune.train.lora.r"));
    assertEquals("constant", train.getString("laketune.train.schedule.type"));
  }

  @Test
  void badParamsAreOneSentenceNamingTheParamAndWhatIsAllowed() {
    LaketuneFineTuner t = new LaketuneFineTuner();
    String m = assertThrows(IllegalArgumentException.class, () -> t.setMethod("lorra")).getMessage();
    assertTrue(m.contains("param method") && m.contains("lora, qlora, full") && m.contains("'lorra'"), m);
    m = assertThrows(IllegalArgumentException.class, () -> t.setLoraR(0)).getMessage();
    assertTrue(m.contains("param loraR") && m.contains("[1, 65536]"), m);
    m = assertThrows(IllegalArgumentException.class, () -> t.setFormatType("csv")).getMessage();
    assertTrue(m.contains("formatType") && m.contains("prompt_completion"), m);
    m = assertThrows(IllegalArgumentException.class, () -> t.transformSchema(sotu.schema())).getMessage();
    assertTrue(m.contains("param model is not set") && m.contains("setModel"), m);
    m = assertThrows(IllegalArgumentException.class, () -> tuner("x").setInputCol("question").transformSchema(sotu.schema()))
        .getMessage();
    assertTrue(m.contains("inputCol") && m.contains("'question'") && m.contains("prompt"), m);
    m = assertThrows(IllegalArgumentException.class, () -> tuner("x").setTrainConf("optimizer.weight_decay = lots").fit(sotu)).getMessage();
    assertTrue(m.contains("optimizer.weight_decay"), m);
    LaketuneModel model = model();
    m = assertThrows(IllegalArgumentException.class, () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setTemperature(-1))
        .getMessage();
    assertTrue(m.contains("param temperature"), m);
    m = assertThrows(IllegalArgumentException.class,
        () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setLossCol("").transformSchema(sotu.schema())).getMessage();
    assertTrue(m.contains("lossCol") && m.contains("generatedCol"), m);
    m = assertThrows(IllegalArgumentException.class,
        () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setLossCol("prompt").transformSchema(sotu.schema())).getMessage();
    assertTrue(m.contains("'prompt' already exists"), m);
  }

  static LaketuneModel model() {
    return (LaketuneModel) fitted.stages()[0];
  }

  /** Six rows over three partitions, scored and continued greedily. */
  static Dataset<Row> rows() {
    return sotu.limit(6).repartition(3);
  }

  @Test
  void transformEqualsLaketuneEvalAndGenerateOnTheSameRows() throws Exception {
    LaketuneModel m = model().copy(new org.apache.spark.ml.param.ParamMap()).setGeneratedCol("generated").setMaxNewTokens(6)
        .setBatchSize(4);
    Dataset<Row> in = rows();
    assertEquals(3, in.rdd().getNumPartitions());
    List<Row> out = m.transform(in).collectAsList();
    assertEquals(6, out.size());
    Path adapter = dir.resolve("single/run/final/adapter");
    for (Row r : out) {
      String prompt = r.getAs("prompt");
      JsonNode eval = eval(prompt, adapter);
      assertEquals(eval.get("tokens").asLong(), (long) r.getAs("tokens"));
      assertEquals(eval.get("loss").asDouble(), (double) r.getAs("loss"), 1e-5 * eval.get("loss").asDouble());
      assertEquals(eval.get("perplexity").asDouble(), (double) r.getAs("perplexity"), 1e-4 * eval.get("perplexity").asDouble());
      String generated = cli("generate", "--model", base.toString(), "--adapter", adapter.toString(), "--prompt", prompt,
          "--max-new-tokens", "6");
      assertEquals(generated.strip(), ((String) r.getAs("generated")).strip(), "row: " + prompt);
      assertTrue((int) r.getAs("generated_tokens") > 0);
    }
    // Sampled: each row draws as laketune generate does with the same temperature, top-k and seed.
    List<Row> sampled = m.copy(new org.apache.spark.ml.param.ParamMap()).setLossCol("").setTemperature(0.8).setTopK(20)
        .setSampleSeed(3).transform(in).collectAsList();
    for (Row r : sampled) {
      String generated = cli("generate", "--model", base.toString(), "--adapter", adapter.toString(), "--prompt",
          r.getAs("prompt"), "--max-new-tokens", "6", "--temperature", "0.8", "--top-k", "20", "--seed", "3");
      assertEquals(generated.strip(), ((String) r.getAs("generated")).strip(), "sampled, row: " + r.getAs("prompt"));
    }
    // The adapter changes the scores: the bare base scores the same rows differently.
    Row baseRow = LaketuneModel.of(base.toString(), Map.of()).setInputCol("prompt").transform(in.limit(1)).first();
    assertNotEquals((double) baseRow.getAs("loss"), (double) out.stream().filter(r -> r.getAs("prompt").equals(baseRow.getAs("prompt")))
        .findFirst().orElseThrow().getAs("loss"), 1e-6);
  }

  @Test
  void oneTenantColumnScoresEveryTenantWithItsAdapter() throws Exception {
    LaketuneModel m = tuner("tenants").setTenantCol("customer").fit(sotu);
    assertEquals(List.of("acme", "globex"), m.adapterNames());
    List<Row> out = m.setTenantCol("customer").transform(rows()).collectAsList();
    for (Row r : out) {
      String tenant = r.getAs("customer");
      JsonNode eval = eval(r.getAs("prompt"), dir.resolve("tenants/run/tenants/" + tenant + "/final/adapter"));
      assertEquals(eval.get("loss").asDouble(), (double) r.getAs("loss"), 1e-5 * eval.get("loss").asDouble(), tenant);
    }
    Dataset<Row> stranger = rows().withColumn("customer", functions.lit("initech"));
    String msg = assertThrows(Exception.class, () -> m.transform(stranger).collect()).toString();
    assertTrue(msg.contains("'initech'") && msg.contains("[acme, globex]"), msg);
    String noTenant = assertThrows(IllegalArgumentException.class, () -> m.copy(new org.apache.spark.ml.param.ParamMap())
        .setTenantCol("").transformSchema(sotu.schema())).getMessage();
    assertTrue(noTenant.contains("set tenantCol"), noTenant);
  }

  @Test
  void estimatorModelAndPipelineModelRoundTrip() throws Exception {
    LaketuneFineTuner t = tuner("saved").setMethod("qlora").setQuantType("fp4");
    String tp = dir.resolve("ml/tuner").toString();
    t.write().overwrite().save(tp);
    LaketuneFineTuner t2 = LaketuneFineTuner.load(tp);
    assertEquals(t.uid(), t2.uid());
    assertEquals("qlora", t2.getMethod());
    assertEquals("fp4", t2.getQuantType());
    assertArrayEquals(t.getTargetModules(), t2.getTargetModules());
    assertEquals(t.getTrainConf(), t2.getTrainConf());

    LaketuneModel m = model().copy(new org.apache.spark.ml.param.ParamMap()).setGeneratedCol("generated").setMaxNewTokens(4)
        .setTemperature(0.8).setTopK(20).setSampleSeed(3);
    String mp = dir.resolve("ml/model").toString();
    m.write().overwrite().save(mp);
    Path saved = Path.of(mp, "adapters", LaketuneModel.SINGLE);
    assertArrayEquals(Files.readAllBytes(dir.resolve("single/run/final/adapter/adapter_model.safetensors")),
        Files.readAllBytes(saved.resolve("adapter_model.safetensors")), "the adapter is saved in PEFT layout, as trained");
    assertTrue(Files.isRegularFile(saved.resolve("adapter_config.json")));
    LaketuneModel m2 = LaketuneModel.load(mp);
    assertEquals(0.8, m2.getTemperature());
    assertEquals(3L, m2.getSampleSeed());
    assertEquals(rowsOf(m.transform(rows())), rowsOf(m2.transform(rows())));

    String pp = dir.resolve("ml/pipeline").toString();
    fitted.write().overwrite().save(pp);
    PipelineModel p2 = PipelineModel.load(pp);
    assertEquals(rowsOf(fitted.transform(rows())), rowsOf(p2.transform(rows())));
  }

  static List<String> rowsOf(Dataset<Row> df) {
    List<String> out = new ArrayList<>();
    for (Row r : df.collectAsList()) out.add(r.toString());
    out.sort(null);
    return out;
  }

  /** laketune eval of one row's text with the adapter, through the CLI. */
  static JsonNode eval(String text, Path adapter) throws Exception {
    Path file = Files.createTempFile(dir, "row", ".jsonl");
    Files.writeString(file, JSON.writeValueAsString(Map.of("text", text)) + "\n");
    return JSON.readTree(cli("eval", "--model", base.toString(), "--adapter", adapter.toString(), "--data", file.toString()));
  }

  static String cli(String... args) {
    PrintStream old = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      int code = Laketune.run(args);
      assertEquals(0, code, String.join(" ", args));
    } finally {
      System.setOut(old);
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
