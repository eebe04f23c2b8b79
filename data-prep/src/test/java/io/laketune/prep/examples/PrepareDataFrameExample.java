package io.laketune.prep.examples;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.laketune.prep.Prepare;
import io.laketune.prep.reader.PreparedDataset;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The README's example of the DataFrame API, compiled by the build and run by
 * PrepareDataFrameExampleTest; ReadmeExampleTest checks that the README shows exactly the code
 * between the markers.
 */
public final class PrepareDataFrameExample {

  private PrepareDataFrameExample() {}

  // README example: begin
  static PreparedDataset prepareChats(SparkSession spark, String table, String tokenizer, String output) {
    // Any DataFrame: a Delta table at a version, filtered, joined, ... as the pipeline has it.
    Dataset<Row> chats = spark.read().format("delta").option("versionAsOf", 1).load(table)
        .where("language = 'en'");
    Config config = ConfigFactory.parseMap(Map.of(
            "laketune.prep.output", output,
            "laketune.prep.tokenizer", tokenizer))
        .withFallback(ConfigFactory.parseString("""
            laketune.prep {
              format.type = chat            # messages: array<struct<role, content>> or JSON text
              source.key = ticket_id        # rejects/ name bad rows by it
              length.seq_len = 4096
              split.validation_fraction = 0.05
            }
            """));
    PreparedDataset data = Prepare.prepare(chats, config);
    System.out.println(data.manifest().counts().kept() + " conversations in " + output);
    return data;
  }
  // README example: end
}
