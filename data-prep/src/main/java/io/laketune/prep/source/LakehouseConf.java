package io.laketune.prep.source;

import io.laketune.prep.config.PrepConfig;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark settings the table sources need, for whoever builds the SparkSession (the CLI, a test,
 * a notebook). Delta's SQL extension and catalog must be set before the session exists; Iceberg's
 * path reads need a catalog that does not require Hive, which can be set at any time before the
 * first Iceberg read. Settings the user already made win: the extension is appended to theirs, the
 * catalogs are only set when unset.
 */
public final class LakehouseConf {

  static final String EXTENSIONS = "spark.sql.extensions";
  static final String DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension";
  static final String SESSION_CATALOG = "spark.sql.catalog.spark_catalog";
  static final String DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog";
  /**
   * The catalog Iceberg's {@code format("iceberg").load(path)} goes through. Iceberg makes it a Hive
   * catalog when unset, which fails without Hive on the class path; a Hadoop catalog loads tables
   * by path just the same (paths never depend on its warehouse).
   */
  static final String ICEBERG_PATH_CATALOG = "spark.sql.catalog.default_iceberg";

  private LakehouseConf() {}

  /**
   * What a session that runs {@code config} needs, given what is already set: nothing for JSONL
   * (its job does not use Spark SQL), Delta's extension and session catalog for the others (a
   * catalog table or a query may be Delta).
   */
  public static Map<String, String> sparkConf(PrepConfig config, SparkConf existing) {
    return config.source().format().tabular() ? sparkConf(existing) : new LinkedHashMap<>();
  }

  /** What a session needs to read Delta tables, given what is already set. */
  public static Map<String, String> sparkConf(SparkConf existing) {
    Map<String, String> out = new LinkedHashMap<>();
    String extensions = existing.get(EXTENSIONS, "");
    if (Arrays.stream(extensions.split(",")).map(String::trim).noneMatch(DELTA_EXTENSION::equals)) {
      out.put(EXTENSIONS, extensions.isBlank() ? DELTA_EXTENSION : extensions + "," + DELTA_EXTENSION);
    }
    if (!existing.contains(SESSION_CATALOG)) {
      out.put(SESSION_CATALOG, DELTA_CATALOG);
    }
    return out;
  }

  /** Sets {@link #sparkConf(PrepConfig, SparkConf)} on a SparkConf before the session is built. */
  public static SparkConf apply(PrepConfig config, SparkConf conf) {
    sparkConf(config, conf).forEach(conf::set);
    return conf;
  }

  /** Sets what Delta needs on a SparkConf before the session is built. */
  public static SparkConf apply(SparkConf conf) {
    sparkConf(conf).forEach(conf::set);
    return conf;
  }

  /** Makes Iceberg path reads work without Hive, unless the user configured their catalog. */
  static synchronized void ensureIcebergPathCatalog(SparkSession spark) {
    if (spark.conf().getOption(ICEBERG_PATH_CATALOG).isDefined()) {
      return;
    }
    spark.conf().set(ICEBERG_PATH_CATALOG + ".type", "hadoop");
    spark.conf().set(ICEBERG_PATH_CATALOG + ".warehouse", spark.conf().get("spark.sql.warehouse.dir"));
    spark.conf().set(ICEBERG_PATH_CATALOG, "org.apache.iceberg.spark.SparkCatalog");
  }
}
