package io.laketune.prep.job;

import java.io.PrintStream;
import java.io.Serializable;
import java.util.Locale;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * Progress lines while the job runs: records and tokens so far and their rates, every
 * progress_seconds, from Spark accumulators that tasks add to. Spark reports a task's additions when
 * the task ends, so the figures move in steps of a chunk.
 */
final class Progress implements AutoCloseable {

  /** The accumulators tasks add to (serialisable into task closures). */
  static final class Counters implements Serializable {
    final LongAccumulator records;
    final LongAccumulator tokens;

    Counters(SparkContext sc) {
      records = sc.longAccumulator("laketune.prep.records");
      tokens = sc.longAccumulator("laketune.prep.tokens");
    }

    void record(Outcome outcome) {
      records.add(1);
      if (outcome instanceof Outcome.Example e) {
        tokens.add(e.doc().length());
      }
    }
  }

  private final Counters counters;
  private final PrintStream out;
  private final long startNanos = System.nanoTime();
  private final Thread thread;
  private volatile String stage = "starting";

  Progress(SparkContext sc, PrintStream out, int seconds) {
    this.counters = new Counters(sc);
    this.out = out;
    if (seconds > 0) {
      thread = new Thread(() -> loop(seconds * 1000L), "laketune-prepare-progress");
      thread.setDaemon(true);
      thread.start();
    } else {
      thread = null;
    }
  }

  Counters counters() {
    return counters;
  }

  void stage(String name) {
    stage = name;
  }

  double seconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private void loop(long millis) {
    try {
      while (true) {
        Thread.sleep(millis);
        double s = seconds();
        long records = counters.records.value();
        long tokens = counters.tokens.value();
        out.printf(Locale.ROOT, "prepare: %s, %.0f s: %,d records (%,.0f/s), %,d tokens (%,.0f/s)%n",
            stage, s, records, records / s, tokens, tokens / s);
        out.flush();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.interrupt();
    }
  }
}
