package io.laketune.ml;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.laketune.prep.Prepare;
import io.laketune.train.Lineage;
import io.laketune.train.TenantTrainer;
import io.laketune.train.TrainConfig;
import io.laketune.train.Trainer;
import io.laketune.train.data.PreparedRows;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Fine-tunes a model on a DataFrame as a Spark ML {@link Estimator}: {@link #fit} runs the
 * {@code laketune prepare} job on the DataFrame ({@link Prepare#prepare}) into {@code <outputDir>/data}
 * and the {@code laketune train} job ({@link Trainer}, or {@link TenantTrainer} with a tenant column) into
 * {@code <outputDir>/run}, and returns a {@link LaketuneModel} holding the trained adapter(s).
 *
 * <p>The params mirror the run files' keys (their defaults are spark-trainer's and data-prep's
 * reference.conf); {@code trainConf} and {@code prepConf} take any other key of the laketune.train and
 * laketune.prep sections as HOCON ({@code "schedule.type = constant, optimizer.weight_decay = 0.1"}).
 * A param that is set wins over the same key in those strings.
 */
public class LaketuneFineTuner extends Estimator<LaketuneModel> implements DefaultParamsWritable {
  static final List<String> METHODS = List.of("lora", "qlora", "full");
  static final List<String> QUANT_TYPES = List.of("nf4", "fp4");
  static final List<String> FORMATS = List.of("text", "prompt_completion", "chat", "alpaca");
  /** The field a format reads its main input from, and its second one (the completion or output). */
  private static final Map<String, String[]> FORMAT_FIELDS = Map.of("text", new String[] {"text", null},
      "prompt_completion", new String[] {"prompt", "completion"}, "chat", new String[] {"messages", null},
      "alpaca", new String[] {"instruction", "output"});

  private final String uid;
  private final Param<String> model;
  private final Param<String> outputDir;
  private final Param<String> method;
  private final IntParam loraR;
  private final DoubleParam loraAlpha;
  private final DoubleParam loraDropout;
  private final StringArrayParam targetModules;
  private final Param<String> quantType;
  private final IntParam workers;
  private final IntParam microBatchSize;
  private final IntParam gradientAccumulation;
  private final IntParam epochs;
  private final LongParam maxSteps;
  private final DoubleParam learningRate;
  private final LongParam seed;
  private final Param<String> formatType;
  private final Param<String> inputCol;
  private final Param<String> completionCol;
  private final Param<String> tenantCol;
  private final IntParam seqLen;
  private final DoubleParam validationFraction;
  private final Param<String> trainConf;
  private final Param<String> prepConf;

  public LaketuneFineTuner() {
    this(Identifiable$.MODULE$.randomUID("laketuneFineTuner"));
  }

  public LaketuneFineTuner(String uid) {
    this.uid = uid;
    Config ref = ConfigFactory.defaultReference();
    String t = TrainConfig.ROOT + ".", p = "laketune.prep.";
    model = new Param<>(this, "model", "the base model: a Hugging Face checkpoint directory, local or on any Hadoop FS");
    outputDir = new Param<>(this, "outputDir", "where fit writes the prepared data (<outputDir>/data) and the run (<outputDir>/run)");
    method = new Param<>(this, "method", "lora | qlora | full", ParamValidators.inArray(METHODS));
    loraR = new IntParam(this, "loraR", "LoRA rank (lora.r)", ParamValidators.inRange(1, 65536));
    loraAlpha = new DoubleParam(this, "loraAlpha", "LoRA alpha (lora.alpha)", ParamValidators.inRange(0, 1e9));
    loraDropout = new DoubleParam(this, "loraDropout", "LoRA dropout (lora.dropout)", ParamValidators.inRange(0, 0.99));
    targetModules = new StringArrayParam(this, "targetModules", "modules LoRA adapts, or all-linear (lora.target_modules)");
    quantType = new Param<>(this, "quantType", "qlora's 4-bit type: nf4 | fp4 (quantize.type)", ParamValidators.inArray(QUANT_TYPES));
    workers = new IntParam(this, "workers", "data-parallel workers: Spark tasks per round", ParamValidators.inRange(1, 100_000));
    microBatchSize = new IntParam(this, "microBatchSize", "rows per worker micro-batch (batch.micro_batch_size)",
        ParamValidators.inRange(1, 1_000_000));
    gradientAccumulation = new IntParam(this, "gradientAccumulation", "micro-batches per worker per step (batch.gradient_accumulation)",
        ParamValidators.inRange(1, 1_000_000));
    epochs = new IntParam(this, "epochs", "epochs over the training split", ParamValidators.inRange(1, 1_000_000));
    maxSteps = new LongParam(this, "maxSteps", "stop after this many optimizer steps; -1 = epochs decide (max_steps)",
        ParamValidators.gtEq(-1));
    learningRate = new DoubleParam(this, "learningRate", "AdamW learning rate (optimizer.lr)", ParamValidators.inRange(0, 10));
    seed = new LongParam(this, "seed", "seed of the adapter's init, dropout and data order");
    formatType = new Param<>(this, "formatType", "text | prompt_completion | chat | alpaca (format.type)", ParamValidators.inArray(FORMATS));
    inputCol = new Param<>(this, "inputCol", "the column of text (text), prompt (prompt_completion), messages (chat) or instruction (alpaca)");
    completionCol = new Param<>(this, "completionCol", "the column of completion (prompt_completion) or output (alpaca)");
    tenantCol = new Param<>(this, "tenantCol", "a column naming each row's tenant: one adapter per tenant (tenant.column, tenants = all); empty = one adapter");
    seqLen = new IntParam(this, "seqLen", "tokens per training row (length.seq_len)", ParamValidators.inRange(2, 1 << 24));
    validationFraction = new DoubleParam(this, "validationFraction", "fraction held out for validation (split.validation_fraction)",
        ParamValidators.inRange(0, 0.999));
    trainConf = new Param<>(this, "trainConf", "any other laketune.train keys, as HOCON");
    prepConf = new Param<>(this, "prepConf", "any other laketune.prep keys, as HOCON");
    setDefault(method, ref.getString(t + "method"));
    setDefault(loraR, ref.getInt(t + "lora.r"));
    setDefault(loraAlpha, ref.getDouble(t + "lora.alpha"));
    setDefault(loraDropout, ref.getDouble(t + "lora.dropout"));
    setDefault(targetModules, ref.getStringList(t + "lora.target_modules").toArray(String[]::new));
    setDefault(quantType, ref.getString(t + "quantize.type"));
    setDefault(workers, ref.getInt(t + "workers"));
    setDefault(microBatchSize, ref.getInt(t + "batch.micro_batch_size"));
    setDefault(gradientAccumulation, ref.getInt(t + "batch.gradient_accumulation"));
    setDefault(epochs, ref.getInt(t + "epochs"));
    setDefault(maxSteps, ref.getLong(t + "max_steps"));
    setDefault(learningRate, ref.getDouble(t + "optimizer.lr"));
    setDefault(seed, ref.getLong(t + "seed"));
    setDefault(formatType, ref.getString(p + "format.type"));
    setDefault(inputCol, ref.getString(p + "format.fields.text"));
    setDefault(completionCol, ref.getString(p + "format.fields.completion"));
    setDefault(tenantCol, "");
    setDefault(seqLen, ref.getInt(p + "length.seq_len"));
    setDefault(validationFraction, ref.getDouble(p + "split.validation_fraction"));
    setDefault(trainConf, "");
    setDefault(prepConf, "");
  }

  @Override
  public String uid() {
    return uid;
  }

  // Params, their getters and setters (in the order of reference.conf).
  public Param<String> model() { return model; }
  public Param<String> outputDir() { return outputDir; }
  public Param<String> method() { return method; }
  public IntParam loraR() { return loraR; }
  public DoubleParam loraAlpha() { return loraAlpha; }
  public DoubleParam loraDropout() { return loraDropout; }
  public StringArrayParam targetModules() { return targetModules; }
  public Param<String> quantType() { return quantType; }
  public IntParam workers() { return workers; }
  public IntParam microBatchSize() { return microBatchSize; }
  public IntParam gradientAccumulation() { return gradientAccumulation; }
  public IntParam epochs() { return epochs; }
  public LongParam maxSteps() { return maxSteps; }
  public DoubleParam learningRate() { return learningRate; }
  public LongParam seed() { return seed; }
  public Param<String> formatType() { return formatType; }
  public Param<String> inputCol() { return inputCol; }
  public Param<String> completionCol() { return completionCol; }
  public Param<String> tenantCol() { return tenantCol; }
  public IntParam seqLen() { return seqLen; }
  public DoubleParam validationFraction() { return validationFraction; }
  public Param<String> trainConf() { return trainConf; }
  public Param<String> prepConf() { return prepConf; }

  public String getModel() { return get(model).isDefined() ? $(model) : null; }
  public String getOutputDir() { return get(outputDir).isDefined() ? $(outputDir) : null; }
  public String getMethod() { return $(method); }
  public int getLoraR() { return (Integer) $(loraR); }
  public double getLoraAlpha() { return (Double) $(loraAlpha); }
  public double getLoraDropout() { return (Double) $(loraDropout); }
  public String[] getTargetModules() { return $(targetModules); }
  public String getQuantType() { return $(quantType); }
  public int getWorkers() { return (Integer) $(workers); }
  public int getMicroBatchSize() { return (Integer) $(microBatchSize); }
  public int getGradientAccumulation() { return (Integer) $(gradientAccumulation); }
  public int getEpochs() { return (Integer) $(epochs); }
  public long getMaxSteps() { return (Long) $(maxSteps); }
  public double getLearningRate() { return (Double) $(learningRate); }
  public long getSeed() { return (Long) $(seed); }
  public String getFormatType() { return $(formatType); }
  public String getInputCol() { return $(inputCol); }
  public String getCompletionCol() { return $(completionCol); }
  public String getTenantCol() { return $(tenantCol); }
  public int getSeqLen() { return (Integer) $(seqLen); }
  public double getValidationFraction() { return (Double) $(validationFraction); }
  public String getTrainConf() { return $(trainConf); }
  public String getPrepConf() { return $(prepConf); }

  private String name() {
    return "LaketuneFineTuner";
  }

  public LaketuneFineTuner setModel(String v) { set(model, v); return this; }
  public LaketuneFineTuner setOutputDir(String v) { set(outputDir, v); return this; }
  public LaketuneFineTuner setMethod(String v) { set(method, ParamChecks.choice(name(), "method", v, METHODS)); return this; }
  public LaketuneFineTuner setLoraR(int v) { set(loraR, (int) ParamChecks.range(name(), "loraR", v, 1, 65536)); return this; }
  public LaketuneFineTuner setLoraAlpha(double v) { set(loraAlpha, ParamChecks.range(name(), "loraAlpha", v, 0, 1e9)); return this; }
  public LaketuneFineTuner setLoraDropout(double v) { set(loraDropout, ParamChecks.range(name(), "loraDropout", v, 0, 0.99)); return this; }
  public LaketuneFineTuner setTargetModules(String... v) { set(targetModules, v); return this; }
  public LaketuneFineTuner setQuantType(String v) { set(quantType, ParamChecks.choice(name(), "quantType", v, QUANT_TYPES)); return this; }
  public LaketuneFineTuner setWorkers(int v) { set(workers, (int) ParamChecks.range(name(), "workers", v, 1, 100_000)); return this; }
  public LaketuneFineTuner setMicroBatchSize(int v) { set(microBatchSize, (int) ParamChecks.range(name(), "microBatchSize", v, 1, 1_000_000)); return this; }
  public LaketuneFineTuner setGradientAccumulation(int v) {
    set(gradientAccumulation, (int) ParamChecks.range(name(), "gradientAccumulation", v, 1, 1_000_000));
    return this;
  }
  public LaketuneFineTuner setEpochs(int v) { set(epochs, (int) ParamChecks.range(name(), "epochs", v, 1, 1_000_000)); return this; }
  public LaketuneFineTuner setMaxSteps(long v) { set(maxSteps, (long) ParamChecks.range(name(), "maxSteps", v, -1, 9e18)); return this; }
  public LaketuneFineTuner setLearningRate(double v) { set(learningRate, ParamChecks.range(name(), "learningRate", v, 0, 10)); return this; }
  public LaketuneFineTuner setSeed(long v) { set(seed, v); return this; }
  public LaketuneFineTuner setFormatType(String v) { set(formatType, ParamChecks.choice(name(), "formatType", v, FORMATS)); return this; }
  public LaketuneFineTuner setInputCol(String v) { set(inputCol, v); return this; }
  public LaketuneFineTuner setCompletionCol(String v) { set(completionCol, v); return this; }
  public LaketuneFineTuner setTenantCol(String v) { set(tenantCol, v == null ? "" : v); return this; }
  public LaketuneFineTuner setSeqLen(int v) { set(seqLen, (int) ParamChecks.range(name(), "seqLen", v, 2, 1 << 24)); return this; }
  public LaketuneFineTuner setValidationFraction(double v) {
    set(validationFraction, ParamChecks.range(name(), "validationFraction", v, 0, 0.999));
    return this;
  }
  public LaketuneFineTuner setTrainConf(String v) { set(trainConf, v == null ? "" : v); return this; }
  public LaketuneFineTuner setPrepConf(String v) { set(prepConf, v == null ? "" : v); return this; }

  /** Checks the params and that the columns the format reads are strings (structures for chat); returns the schema unchanged. */
  @Override
  public StructType transformSchema(StructType schema) {
    ParamChecks.required(name(), "model", getModel(), "the base model's checkpoint directory");
    ParamChecks.required(name(), "outputDir", getOutputDir(), "a directory for the prepared data and the run");
    String[] fields = FORMAT_FIELDS.get(getFormatType());
    column(schema, "inputCol", getInputCol(), !getFormatType().equals("chat"));
    if (fields[1] != null) column(schema, "completionCol", getCompletionCol(), true);
    if (!getTenantCol().isEmpty()) column(schema, "tenantCol", getTenantCol(), false);
    return schema;
  }

  private void column(StructType schema, String param, String col, boolean string) {
    if (!Arrays.asList(schema.fieldNames()).contains(col)) {
      throw new IllegalArgumentException(name() + " param " + param + " names the column '" + col
          + "', which the DataFrame lacks; it has " + String.join(", ", schema.fieldNames()));
    }
    StructField f = schema.apply(col);
    if (string && !f.dataType().equals(DataTypes.StringType)) {
      throw new IllegalArgumentException(name() + " param " + param + ": column '" + col + "' is " + f.dataType().simpleString()
          + "; it must be a string");
    }
  }

  /** The laketune.prep section fit runs: prepConf under the params that are set. */
  Config prepSection(String output) {
    Map<String, Object> keys = new LinkedHashMap<>();
    String[] fields = FORMAT_FIELDS.get(getFormatType());
    keys.put("output", output);
    keys.put("tokenizer", getModel());
    keys.put("format.type", getFormatType());
    keys.put("format.fields." + fields[0], getInputCol());
    if (fields[1] != null) keys.put("format.fields." + fields[1], getCompletionCol());
    if (!getTenantCol().isEmpty()) keys.put("tenant.column", getTenantCol());
    if (isSet(seqLen)) keys.put("length.seq_len", getSeqLen());
    if (isSet(validationFraction)) keys.put("split.validation_fraction", getValidationFraction());
    return section("laketune.prep", keys, getPrepConf(), "prepConf");
  }

  /** The laketune.train section fit runs: trainConf under the params that are set. */
  Config trainSection(String data, String output) {
    Map<String, Object> keys = new LinkedHashMap<>();
    keys.put("model", getModel());
    keys.put("data", data);
    keys.put("output", output);
    if (isSet(method)) keys.put("method", getMethod());
    if (isSet(loraR)) keys.put("lora.r", getLoraR());
    if (isSet(loraAlpha)) keys.put("lora.alpha", getLoraAlpha());
    if (isSet(loraDropout)) keys.put("lora.dropout", getLoraDropout());
    if (isSet(targetModules)) keys.put("lora.target_modules", List.of(getTargetModules()));
    if (isSet(quantType)) keys.put("quantize.type", getQuantType());
    if (isSet(workers)) keys.put("workers", getWorkers());
    if (isSet(microBatchSize)) keys.put("batch.micro_batch_size", getMicroBatchSize());
    if (isSet(gradientAccumulation)) keys.put("batch.gradient_accumulation", getGradientAccumulation());
    if (isSet(epochs)) keys.put("epochs", getEpochs());
    if (isSet(maxSteps)) keys.put("max_steps", getMaxSteps());
    if (isSet(learningRate)) keys.put("optimizer.lr", getLearningRate());
    if (isSet(seed)) keys.put("seed", getSeed());
    if (!getTenantCol().isEmpty()) keys.put("tenants", "all");
    return section(TrainConfig.ROOT, keys, getTrainConf(), "trainConf");
  }

  private Config section(String root, Map<String, Object> keys, String hocon, String param) {
    Config extra;
    try {
      extra = ConfigFactory.parseString(hocon);
    } catch (com.typesafe.config.ConfigException e) {
      throw new IllegalArgumentException(name() + " param " + param + " is not valid HOCON: " + e.getMessage(), e);
    }
    return ConfigFactory.parseMap(keys).withFallback(extra).atPath(root);
  }

  @Override
  public LaketuneModel fit(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    String out = getOutputDir().replaceAll("/+$", "");
    TrainConfig cfg = TrainConfig.parse(trainSection(out + "/data", out + "/run"), List.of());
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext());
    Configuration conf = sc.hadoopConfiguration();
    PrintStream log = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    Map<String, AdapterFiles> adapters = new LinkedHashMap<>();
    String trained = cfg.model();
    try {
      Prepare.prepare(dataset.toDF(), Prepare.config(prepSection(cfg.data())), log);
      if (cfg.tenants().any()) {
        TenantTrainer.Result r = new TenantTrainer(sc, cfg, log).run();
        for (TenantTrainer.TenantResult t : r.tenants()) {
          if (t.failed()) {
            throw new IllegalStateException("tenant " + t.tenant() + " failed to train: " + t.error() + "; see " + out + "/run/"
                + TenantTrainer.SUMMARY + " (fitting again resumes every tenant where it stopped)");
          }
          adapters.put(t.tenant(), AdapterFiles.read(out + "/run/tenants/" + t.tenant() + "/final/adapter", conf));
        }
      } else {
        PreparedRows validation = PreparedRows.has(cfg.data(), "validation") ? new PreparedRows(cfg.data(), "validation") : null;
        new Trainer(sc, cfg, new PreparedRows(cfg.data(), "train"), validation, Lineage.dataset(cfg.data(), conf), log).run();
        if (cfg.method() == TrainConfig.Method.FULL) trained = out + "/run/final/model";
        else adapters.put(LaketuneModel.SINGLE, AdapterFiles.read(out + "/run/final/adapter", conf));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("fitting into " + out + " failed: " + e.getMessage(), e);
    }
    LaketuneModel m = copyValues(new LaketuneModel(uid, adapters), ParamMap.empty()).setParent(this);
    m.setModel(trained);
    if (cfg.quantize() != null) m.setQuantize(cfg.quantize().type().name().toLowerCase(java.util.Locale.ROOT)).setDoubleQuant(cfg.quantize().doubleQuant());
    return m;
  }

  @Override
  public LaketuneFineTuner copy(ParamMap extra) {
    return (LaketuneFineTuner) defaultCopy(extra);
  }

  public static MLReader<LaketuneFineTuner> read() {
    return new DefaultParamsReader<>();
  }

  public static LaketuneFineTuner load(String path) {
    return read().load(path);
  }
}
