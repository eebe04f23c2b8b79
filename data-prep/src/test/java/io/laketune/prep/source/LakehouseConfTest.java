package io.laketune.prep.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.laketune.prep.TestConfigs;
import io.laketune.prep.config.PrepConfig;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The Spark settings a prepare session gets: Delta's for table sources, the user's kept. */
class LakehouseConfTest {

  private static PrepConfig config(String hocon) {
    return TestConfigs.config("tok", hocon);
  }

  @Test
  void tableSourcesGetDeltasExtensionAndCatalogJsonlNothing() {
    assertEquals(Map.of(), LakehouseConf.sparkConf(config(""), new SparkConf(false)));
    assertEquals(Map.of("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension",
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"),
        LakehouseConf.sparkConf(config("input = [], source { format = table, table = t }"), new SparkConf(false)));
  }

  @Test
  void theUsersSettingsWin() {
    SparkConf mine = new SparkConf(false)
        .set("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .set("spark.sql.catalog.spark_catalog", "org.apache.iceberg.spark.SparkSessionCatalog");
    assertEquals(Map.of("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions,"
        + "io.delta.sql.DeltaSparkSessionExtension"), LakehouseConf.sparkConf(mine));
    mine.set("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension");
    assertEquals(Map.of(), LakehouseConf.sparkConf(mine));
  }
}
