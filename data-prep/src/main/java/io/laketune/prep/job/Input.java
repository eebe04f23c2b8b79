package io.laketune.prep.job;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.source.SourceInfo;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Where the job's records come from: JSONL files ({@link JsonlInput}) or table rows ({@link
 * TableInput}). Either gives one {@link Outcome} per record and writes its rejects; everything after
 * (dedup, split, shuffle, pack, shards, manifest) is the same.
 */
interface Input {

  /** The manifest's source block. */
  SourceInfo info();

  /** The resolved laketune.prep section as JSON, with any resolved table versions written in. */
  String pinnedConfig();

  /** What a record is called in messages: "lines" or "rows". */
  String unit();

  /** One outcome per record, lazily; tasks add to the progress counters. */
  JavaRDD<Outcome> outcomes(JavaSparkContext sc, PrepConfig config, HadoopConf conf, String fingerprint,
      Progress progress);

  /** Writes rejects/ from the outcomes; returns the files written, sorted by path. */
  List<RejectsTask.RejectsFile> writeRejects(JavaRDD<Outcome> outcomes, Tally tally, RejectsTask task);
}
