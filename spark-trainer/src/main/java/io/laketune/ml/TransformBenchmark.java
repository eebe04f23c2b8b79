package io.laketune.ml;

import io.laketune.demo.DemoDataset;
import io.laketune.demo.DemoModel;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@link LaketuneModel#transform} throughput in local mode, 2 partitions, a LoRA adapter (r = 8,
 * all-linear) over the base: scoring (rows/s, scored tokens/s) and greedy generation (rows/s,
 * generated tokens/s), each timed after a warm-up pass that loads the model on the executors.
 *
 * <pre>
 * java -cp ... io.laketune.ml.TransformBenchmark demo|MODEL_DIR [rows=64] [new_tokens=32] [batch=8]
 * </pre>
 * {@code demo} writes the demo model and scores the demo's State of the Union prompts; a model
 * directory (stories260K's {@code hf/}) scores short stories' openings.
 */
public final class TransformBenchmark {
  private TransformBenchmark() {}

  public static void main(String[] args) throws Exception {
    String which = args.length > 0 ? args[0] : "demo";
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 64;
    int newTokens = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    int batch = args.length > 3 ? Integer.parseInt(args[3]) : 8;
    Path tmp = Files.createTempDirectory("laketune-transform-bench-");
    SparkSession spark = SparkSession.builder().master("local[2]").appName("laketune transform benchmark")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
    try {
      Path base;
      List<String> texts = new ArrayList<>();
      if (which.equals("demo")) {
        base = tmp.resolve("demo-model");
        DemoModel.write(base);
        DemoDataset.write(tmp.resolve(DemoDataset.FILE_NAME));
        spark.read().json(tmp.resolve(DemoDataset.FILE_NAME).toString()).select("prompt").limit(rows).collectAsList()
            .forEach(r -> texts.add(r.getString(0)));
      } else {
        base = Path.of(which);
        String[] who = {"Lily", "Tom", "a little bird", "Ben", "a big dog", "Mia"};
        String[] what = {"found a red ball", "wanted to fly", "saw a shiny star", "made a cake", "lost a toy"};
        for (int i = 0; i < rows; i++) {
          texts.add("Once upon a time, " + who[i % who.length] + " " + what[i % what.length] + " in the park. One day,");
        }
      }
      Path adapter = tmp.resolve("adapter");
      LoraModel.create(base, LoraConfig.of(8, 16, List.of(LoraConfig.ALL_LINEAR)), DataType.FLOAT, 1).save(adapter);
      Dataset<Row> df = spark.createDataset(texts, Encoders.STRING()).toDF("text").repartition(2).cache();
      df.count();
      LaketuneModel model = LaketuneModel.of(base.toString(), Map.of(LaketuneModel.SINGLE, adapter.toString()))
          .setBatchSize(batch);
      model.transform(df).count(); // warm-up: executors load the base and attach the adapter
      long t0 = System.nanoTime();
      Row scored = model.transform(df).agg(functions.count("*"), functions.sum("tokens")).first();
      double scoreS = (System.nanoTime() - t0) / 1e9;
      LaketuneModel gen = model.copy(new org.apache.spark.ml.param.ParamMap()).setLossCol("").setGeneratedCol("generated")
          .setMaxNewTokens(newTokens);
      gen.transform(df.limit(2)).count();
      t0 = System.nanoTime();
      Row generated = gen.transform(df).agg(functions.count("*"), functions.sum("generated_tokens")).first();
      double genS = (System.nanoTime() - t0) / 1e9;
      System.out.printf("model %s, %d rows, 2 partitions, batch %d, LoRA r=8 all-linear%n", which, rows, batch);
      System.out.printf("score:    %.1f rows/s, %.0f scored tokens/s (%d tokens in %.2f s)%n", scored.getLong(0) / scoreS,
          scored.getLong(1) / scoreS, scored.getLong(1), scoreS);
      System.out.printf("generate: %.1f rows/s, %.0f generated tokens/s (%d tokens, max %d a row, greedy, in %.2f s)%n",
          generated.getLong(0) / genS, generated.getLong(1) / genS, generated.getLong(1), newTokens, genS);
    } finally {
      spark.stop();
    }
  }
}
