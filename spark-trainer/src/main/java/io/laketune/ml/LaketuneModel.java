package io.laketune.ml;

import io.laketune.quant.ModelQuantizer;
import io.laketune.quant.QuantType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReadable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A base model with its fine-tuned adapter(s), as a Spark ML {@link Model}: {@link #transform} runs on
 * the executors (the base loaded once per executor JVM, the adapters broadcast), rows batched within a
 * partition, and appends per row, as chosen by the column params:
 * <ul>
 *   <li>{@code lossCol} / {@code perplexityCol} / {@code tokensCol} (default loss, perplexity, tokens;
 *       lossCol = "" turns scoring off): the mean cross-entropy of the inputCol text, as
 *       {@code laketune eval} gives for that text;
 *   <li>{@code generatedCol} (default "" = off) and {@code generatedTokensCol}: the continuation of
 *       promptCol (default inputCol) by KV-cache decoding, greedy at temperature 0 or sampled, up to
 *       maxNewTokens, ending at an eos or stopTokenIds token, as {@code laketune generate} prints it.
 * </ul>
 * A model fitted with a tenant column holds one adapter per tenant; {@code tenantCol} picks each row's,
 * so that one pass over a table scores every tenant.
 *
 * <p>Saved as {@code <path>/metadata} (the params, Spark's DefaultParamsWriter) and
 * {@code <path>/adapters/<name>/} (each adapter in PEFT layout, the trainer's files byte for byte;
 * {@code adapter} for a single one). The base model is referenced by its path, as PEFT's adapters do.
 */
public class LaketuneModel extends Model<LaketuneModel> implements MLWritable {
  /** The name of the one adapter of a model fitted without tenants. */
  public static final String SINGLE = "adapter";
  static final List<String> QUANTIZE = List.of("", "nf4", "fp4");

  private final String uid;
  private final Map<String, AdapterFiles> adapters;
  private final Param<String> model;
  private final Param<String> quantize;
  private final BooleanParam doubleQuant;
  private final Param<String> inputCol;
  private final Param<String> promptCol;
  private final Param<String> tenantCol;
  private final Param<String> lossCol;
  private final Param<String> perplexityCol;
  private final Param<String> tokensCol;
  private final Param<String> generatedCol;
  private final Param<String> generatedTokensCol;
  private final IntParam maxNewTokens;
  private final DoubleParam temperature;
  private final IntParam topK;
  private final DoubleParam topP;
  private final LongParam sampleSeed;
  private final IntArrayParam stopTokenIds;
  private final IntParam batchSize;

  LaketuneModel(String uid, Map<String, AdapterFiles> adapters) {
    this.uid = uid;
    this.adapters = new TreeMap<>(adapters);
    model = new Param<>(this, "model", "the base model's checkpoint directory, local or on any Hadoop FS");
    quantize = new Param<>(this, "quantize", "pack the base's linear weights to 4 bits: nf4 | fp4 | \"\" (QLoRA adapters)",
        ParamValidators.inArray(QUANTIZE));
    doubleQuant = new BooleanParam(this, "doubleQuant", "also quantise the 4-bit block scales");
    inputCol = new Param<>(this, "inputCol", "the column of text to score (and, by default, the prompt)");
    promptCol = new Param<>(this, "promptCol", "the column of prompts to continue; \"\" = inputCol");
    tenantCol = new Param<>(this, "tenantCol", "the column naming each row's adapter (tenant); \"\" = the model's one adapter");
    lossCol = new Param<>(this, "lossCol", "output: mean cross-entropy of inputCol; \"\" = no scoring");
    perplexityCol = new Param<>(this, "perplexityCol", "output: exp(loss)");
    tokensCol = new Param<>(this, "tokensCol", "output: tokens scored (all but the first)");
    generatedCol = new Param<>(this, "generatedCol", "output: the generated continuation of promptCol; \"\" = no generation");
    generatedTokensCol = new Param<>(this, "generatedTokensCol", "output: tokens generated");
    maxNewTokens = new IntParam(this, "maxNewTokens", "tokens to generate at most", ParamValidators.inRange(0, 1 << 20));
    temperature = new DoubleParam(this, "temperature", "0 = greedy", ParamValidators.gtEq(0));
    topK = new IntParam(this, "topK", "keep the k most likely tokens; 0 = off", ParamValidators.gtEq(0));
    topP = new DoubleParam(this, "topP", "nucleus mass; 1 = off", ParamValidators.inRange(0, 1, false, true));
    sampleSeed = new LongParam(this, "sampleSeed", "sampling seed (each row's sampler starts from it)");
    stopTokenIds = new IntArrayParam(this, "stopTokenIds", "token ids that end generation besides the eos tokens");
    batchSize = new IntParam(this, "batchSize", "rows per forward pass within a partition", ParamValidators.inRange(1, 1 << 16));
    setDefault(quantize, "");
    setDefault(doubleQuant, false);
    setDefault(inputCol, "text");
    setDefault(promptCol, "");
    setDefault(tenantCol, "");
    setDefault(lossCol, "loss");
    setDefault(perplexityCol, "perplexity");
    setDefault(tokensCol, "tokens");
    setDefault(generatedCol, "");
    setDefault(generatedTokensCol, "generated_tokens");
    setDefault(maxNewTokens, 64);
    setDefault(temperature, 0.0);
    setDefault(topK, 0);
    setDefault(topP, 1.0);
    setDefault(sampleSeed, 0L);
    setDefault(stopTokenIds, new int[0]);
    setDefault(batchSize, 8);
  }

  /**
   * A model over {@code base} with adapters already on disk (PEFT directories, any Hadoop FS) by name:
   * those of {@code laketune train} ({@code <run>/final/adapter}, or one per tenant); none = the bare base.
   */
  public static LaketuneModel of(String base, Map<String, String> adapterDirs) {
    Map<String, AdapterFiles> a = new LinkedHashMap<>();
    Configuration conf = new Configuration();
    try {
      for (Map.Entry<String, String> e : adapterDirs.entrySet()) a.put(e.getKey(), AdapterFiles.read(e.getValue(), conf));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the adapter: " + e.getMessage(), e);
    }
    return new LaketuneModel(Identifiable$.MODULE$.randomUID("laketuneModel"), a).setModel(base);
  }

  @Override
  public String uid() {
    return uid;
  }

  /** The names of the adapters this model holds (tenants, or {@link #SINGLE}). */
  public List<String> adapterNames() {
    return List.copyOf(adapters.keySet());
  }

  /** The files of an adapter (name to bytes), as the trainer wrote them. */
  public Map<String, byte[]> adapterFiles(String name) {
    AdapterFiles a = adapters.get(name);
    if (a == null) throw new IllegalArgumentException("no adapter named '" + name + "'; this model holds " + adapters.keySet());
    return a.files();
  }

  public Param<String> model() { return model; }
  public Param<String> quantize() { return quantize; }
  public BooleanParam doubleQuant() { return doubleQuant; }
  public Param<String> inputCol() { return inputCol; }
  public Param<String> promptCol() { return promptCol; }
  public Param<String> tenantCol() { return tenantCol; }
  public Param<String> lossCol() { return lossCol; }
  public Param<String> perplexityCol() { return perplexityCol; }
  public Param<String> tokensCol() { return tokensCol; }
  public Param<String> generatedCol() { return generatedCol; }
  public Param<String> generatedTokensCol() { return generatedTokensCol; }
  public IntParam maxNewTokens() { return maxNewTokens; }
  public DoubleParam temperature() { return temperature; }
  public IntParam topK() { return topK; }
  public DoubleParam topP() { return topP; }
  public LongParam sampleSeed() { return sampleSeed; }
  public IntArrayParam stopTokenIds() { return stopTokenIds; }
  public IntParam batchSize() { return batchSize; }

  public String getModel() { return get(model).isDefined() ? $(model) : null; }
  public String getQuantize() { return $(quantize); }
  public boolean getDoubleQuant() { return (Boolean) $(doubleQuant); }
  public String getInputCol() { return $(inputCol); }
  public String getPromptCol() { return $(promptCol).isEmpty() ? getInputCol() : $(promptCol); }
  public String getTenantCol() { return $(tenantCol); }
  public String getLossCol() { return $(lossCol); }
  public String getPerplexityCol() { return $(perplexityCol); }
  public String getTokensCol() { return $(tokensCol); }
  public String getGeneratedCol() { return $(generatedCol); }
  public String getGeneratedTokensCol() { return $(generatedTokensCol); }
  public int getMaxNewTokens() { return (Integer) $(maxNewTokens); }
  public double getTemperature() { return (Double) $(temperature); }
  public int getTopK() { return (Integer) $(topK); }
  public double getTopP() { return (Double) $(topP); }
  public long getSampleSeed() { return (Long) $(sampleSeed); }
  public int[] getStopTokenIds() { return $(stopTokenIds); }
  public int getBatchSize() { return (Integer) $(batchSize); }

  private static final String NAME = "LaketuneModel";

  public LaketuneModel setModel(String v) { set(model, v); return this; }
  public LaketuneModel setQuantize(String v) { set(quantize, ParamChecks.choice(NAME, "quantize", v, QUANTIZE)); return this; }
  public LaketuneModel setDoubleQuant(boolean v) { set(doubleQuant, v); return this; }
  public LaketuneModel setInputCol(String v) { set(inputCol, v); return this; }
  public LaketuneModel setPromptCol(String v) { set(promptCol, v == null ? "" : v); return this; }
  public LaketuneModel setTenantCol(String v) { set(tenantCol, v == null ? "" : v); return this; }
  public LaketuneModel setLossCol(String v) { set(lossCol, v == null ? "" : v); return this; }
  public LaketuneModel setPerplexityCol(String v) { set(perplexityCol, v); return this; }
  public LaketuneModel setTokensCol(String v) { set(tokensCol, v); return this; }
  public LaketuneModel setGeneratedCol(String v) { set(generatedCol, v == null ? "" : v); return this; }
  public LaketuneModel setGeneratedTokensCol(String v) { set(generatedTokensCol, v); return this; }
  public LaketuneModel setMaxNewTokens(int v) { set(maxNewTokens, (int) ParamChecks.range(NAME, "maxNewTokens", v, 0, 1 << 20)); return this; }
  public LaketuneModel setTemperature(double v) { set(temperature, ParamChecks.range(NAME, "temperature", v, 0, 1e6)); return this; }
  public LaketuneModel setTopK(int v) { set(topK, (int) ParamChecks.range(NAME, "topK", v, 0, Integer.MAX_VALUE)); return this; }
  public LaketuneModel setTopP(double v) { set(topP, ParamChecks.range(NAME, "topP", v, Math.ulp(0.0), 1)); return this; }
  public LaketuneModel setSampleSeed(long v) { set(sampleSeed, v); return this; }
  public LaketuneModel setStopTokenIds(int... v) { set(stopTokenIds, v); return this; }
  public LaketuneModel setBatchSize(int v) { set(batchSize, (int) ParamChecks.range(NAME, "batchSize", v, 1, 1 << 16)); return this; }

  private boolean scoring() {
    return !getLossCol().isEmpty();
  }

  private boolean generating() {
    return !getGeneratedCol().isEmpty();
  }

  /** The input schema with the chosen output columns appended; a missing input or clashing output column is an error naming its param. */
  @Override
  public StructType transformSchema(StructType schema) {
    ParamChecks.required(NAME, "model", getModel(), "the base model's checkpoint directory");
    if (!scoring() && !generating()) {
      throw new IllegalArgumentException(NAME + " has nothing to append: set lossCol (scoring) or generatedCol (generation)");
    }
    if (scoring()) stringColumn(schema, "inputCol", getInputCol());
    if (generating()) stringColumn(schema, $(promptCol).isEmpty() ? "inputCol" : "promptCol", getPromptCol());
    if (!getTenantCol().isEmpty()) {
      if (!Arrays.asList(schema.fieldNames()).contains(getTenantCol())) {
        throw new IllegalArgumentException(NAME + " param tenantCol names the column '" + getTenantCol()
            + "', which the DataFrame lacks; it has " + String.join(", ", schema.fieldNames()));
      }
      if (adapters.isEmpty()) throw new IllegalArgumentException(NAME + " param tenantCol is set, but the model holds no adapter");
    } else if (adapters.size() > 1) {
      throw new IllegalArgumentException(NAME + " holds " + adapters.size() + " adapters " + adapters.keySet()
          + ": set tenantCol to the column that picks each row's");
    }
    StructType out = schema;
    if (scoring()) {
      out = add(out, "lossCol", getLossCol(), DataTypes.DoubleType);
      out = add(out, "perplexityCol", getPerplexityCol(), DataTypes.DoubleType);
      out = add(out, "tokensCol", getTokensCol(), DataTypes.LongType);
    }
    if (generating()) {
      out = add(out, "generatedCol", getGeneratedCol(), DataTypes.StringType);
      out = add(out, "generatedTokensCol", getGeneratedTokensCol(), DataTypes.IntegerType);
    }
    return out;
  }

  private static void stringColumn(StructType schema, String param, String col) {
    if (!Arrays.asList(schema.fieldNames()).contains(col)) {
      throw new IllegalArgumentException(NAME + " param " + param + " names the column '" + col
          + "', which the DataFrame lacks; it has " + String.join(", ", schema.fieldNames()));
    }
    if (!schema.apply(col).dataType().equals(DataTypes.StringType)) {
      throw new IllegalArgumentException(NAME + " param " + param + ": column '" + col + "' is "
          + schema.apply(col).dataType().simpleString() + "; it must be a string");
    }
  }

  private static StructType add(StructType schema, String param, String col, org.apache.spark.sql.types.DataType type) {
    if (Arrays.asList(schema.fieldNames()).contains(col)) {
      throw new IllegalArgumentException(NAME + " param " + param + ": the output column '" + col
          + "' already exists; name another");
    }
    return schema.add(col, type, true);
  }

  ModelQuantizer.Settings quantizeSettings() {
    if (getQuantize().isEmpty()) return null;
    return new ModelQuantizer.Settings(getQuantize().equals("nf4") ? QuantType.NF4 : QuantType.FP4, 64, getDoubleQuant());
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType out = transformSchema(dataset.schema());
    Dataset<Row> df = dataset.toDF();
    StructType in = df.schema();
    PartitionScorer.Settings s = new PartitionScorer.Settings(ScoringModels.spec(getModel(), quantizeSettings()), adapters,
        getTenantCol(), scoring() ? in.fieldIndex(getInputCol()) : -1, generating() ? in.fieldIndex(getPromptCol()) : -1,
        getTenantCol().isEmpty() ? -1 : in.fieldIndex(getTenantCol()), scoring(), generating(), getBatchSize(),
        getMaxNewTokens(), getTemperature(), getTopK(), getTopP(), getSampleSeed(), getStopTokenIds());
    Broadcast<PartitionScorer.Settings> b = df.sparkSession().sparkContext()
        .broadcast(s, scala.reflect.ClassTag$.MODULE$.apply(PartitionScorer.Settings.class));
    JavaRDD<Row> rows = df.javaRDD().mapPartitions(it -> new PartitionScorer(b.value()).apply(it));
    return df.sparkSession().createDataFrame(rows, out);
  }

  @Override
  public LaketuneModel copy(ParamMap extra) {
    return copyValues(new LaketuneModel(uid, adapters), extra).setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<LaketuneModel> read() {
    return new Reader();
  }

  public static LaketuneModel load(String path) {
    return read().load(path);
  }

  /** Writes the params' metadata and each adapter in PEFT layout under adapters/NAME. */
  static final class Writer extends MLWriter {
    private final LaketuneModel m;

    Writer(LaketuneModel m) {
      this.m = m;
    }

    @Override
    public void saveImpl(String path) {
      DefaultParamsWriter.saveMetadata(m, path, sparkSession());
      Configuration conf = sc().hadoopConfiguration();
      try {
        for (Map.Entry<String, AdapterFiles> e : m.adapters.entrySet()) e.getValue().write(path + "/adapters/" + e.getKey(), conf);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the adapters to " + path + ": " + e.getMessage(), e);
      }
    }
  }

  static final class Reader extends MLReader<LaketuneModel> {
    @Override
    public LaketuneModel load(String path) {
      DefaultParamsReader.Metadata meta = DefaultParamsReader.loadMetadata(path, sparkSession(), LaketuneModel.class.getName());
      Map<String, AdapterFiles> adapters = new TreeMap<>();
      Configuration conf = sc().hadoopConfiguration();
      try {
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(path, "adapters");
        FileSystem fs = dir.getFileSystem(conf);
        if (fs.exists(dir)) {
          for (FileStatus s : fs.listStatus(dir)) {
            if (s.isDirectory()) adapters.put(s.getPath().getName(), AdapterFiles.read(s.getPath().toString(), conf));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the adapters of " + path + ": " + e.getMessage(), e);
      }
      LaketuneModel m = new LaketuneModel(meta.uid(), adapters);
      meta.getAndSetParams(m, scala.Option.empty());
      return m;
    }
  }
}
