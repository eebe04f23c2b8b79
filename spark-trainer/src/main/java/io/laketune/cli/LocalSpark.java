package io.laketune.cli;

import java.net.URL;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.DefaultConfiguration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark sessions the CLI starts, and its logging. Under spark-submit the cluster's settings rule:
 * spark-submit names the master and configures logging, and nothing here changes either. Run on its
 * own ({@code bin/laketune}), a command gets Spark in local mode that stays on this machine — driver
 * bound to 127.0.0.1, no web UI (set {@code -Dspark.ui.enabled=true} to have one, on 127.0.0.1) — and
 * Spark's INFO lines are kept out of the way of laketune's own progress lines.
 */
final class LocalSpark {
  private static boolean loggingDone;

  private LocalSpark() {}

  /**
   * A session for {@code appName}: the master spark-submit set, else {@code master} when given, else
   * {@code defaultMaster} (a {@code local[...]} one). Local masters started here get the local defaults.
   */
  static SparkSession session(String appName, String master, String defaultMaster) {
    return session(appName, master, defaultMaster, conf -> conf);
  }

  /** As above, with what a command adds to the conf before the session exists (prepare: Delta's settings). */
  static SparkSession session(String appName, String master, String defaultMaster,
      java.util.function.UnaryOperator<SparkConf> configure) {
    SparkConf conf = configure.apply(new SparkConf().setAppName(appName));
    boolean submitted = conf.contains("spark.master");
    if (master != null) conf.setMaster(master);
    else if (!submitted) conf.setMaster(defaultMaster);
    if (!submitted && conf.get("spark.master").startsWith("local")) {
      conf.setIfMissing("spark.driver.host", "127.0.0.1");
      conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
      conf.setIfMissing("spark.ui.enabled", "false");
    }
    return SparkSession.builder().config(conf).getOrCreate();
  }

  /**
   * Spark, Hadoop and ND4J log warnings and errors only, unless {@code verbose}, a log4j2 configuration
   * was given or found on the class path, or spark-submit runs this JVM. Called before Spark starts:
   * Spark installs its own INFO defaults only where log4j2 found no configuration.
   */
  static synchronized void quietLogging(boolean verbose) {
    if (loggingDone) return;
    loggingDone = true;
    if (verbose || System.getProperty("spark.master") != null || System.getProperty("log4j2.configurationFile") != null
        || System.getProperty("log4j.configurationFile") != null || System.getenv("LOG4J_CONFIGURATION_FILE") != null) {
      return;
    }
    if (!(LogManager.getContext(false) instanceof LoggerContext ctx)) return;
    if (!(ctx.getConfiguration() instanceof DefaultConfiguration)) return;
    URL config = LocalSpark.class.getResource("/io/laketune/cli/log4j2-local.properties");
    try {
      if (config != null) Configurator.reconfigure(config.toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
