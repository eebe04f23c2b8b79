package io.laketune.ml.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.demo.DemoDataset;
import io.laketune.demo.DemoModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Spark ML example runs on the demo model and data, and the README shows it as compiled. */
class FineTuneExampleTest {
  @TempDir Path dir;

  @Test
  void theReadmeHoldsTheCompiledExample() throws Exception {
    String source = Files.readString(Path.of("src/test/java/io/laketune/ml/examples/FineTuneExample.java"));
    String begin = "  // README example: begin\n", end = "  // README example: end\n";
    String code = source.substring(source.indexOf(begin) + begin.length(), source.indexOf(end));
    String shown = code.lines().map(l -> l.startsWith("  ") ? l.substring(2) : l).reduce("", (a, b) -> a + b + "\n");
    assertTrue(Files.readString(Path.of("../README.md")).contains("```java\n" + shown + "```\n"),
        "README.md must show the code between the markers of FineTuneExample.java, unindented by two spaces, in a"
            + " ```java block:\n" + shown);
  }

  @Test
  @Tag("integration")
  void theExampleFineTunesSavesLoadsAndAnswers() throws Exception {
    SparkSession spark = SparkSession.builder().master("local[2]").appName("laketune-ml-example")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
    try {
      Path model = dir.resolve("model");
      DemoModel.write(model);
      DemoDataset.write(dir.resolve(DemoDataset.FILE_NAME));
      Dataset<Row> tickets = spark.read().json(dir.resolve(DemoDataset.FILE_NAME).toString()).limit(24)
          .withColumnRenamed("prompt", "question").withColumnRenamed("completion", "answer");
      List<Row> out = FineTuneExample.fineTuneAndAnswer(tickets, model.toString(), dir.resolve("run").toString(),
          dir.resolve("saved").toString()).collectAsList();
      assertEquals(24, out.size());
      assertEquals(List.of("question", "loss", "perplexity", "tokens", "generated", "generated_tokens"),
          List.of(out.get(0).schema().fieldNames()));
      for (Row r : out) {
        assertTrue(Double.isFinite(r.getAs("loss")) && (long) r.getAs("tokens") > 0, r.toString());
        assertTrue((int) r.getAs("generated_tokens") > 0, r.toString());
      }
      assertTrue(Files.isRegularFile(dir.resolve("saved/stages").resolve(Files.list(dir.resolve("saved/stages")).findFirst()
          .orElseThrow().getFileName()).resolve("adapters/adapter/adapter_model.safetensors")));
    } finally {
      spark.stop();
    }
  }
}
