package io.laketune.prep.job;

import io.laketune.prep.write.Manifest;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/** The table printed when the job ends: per split, then what happened to the records read. */
final class Summary {

  private Summary() {}

  static void print(PrintStream out, Manifest m, String output, double seconds, int cores) {
    Manifest.SplitInfo train = m.splits().get("train");
    Manifest.SplitInfo val = m.splits().get("validation");
    out.printf(Locale.ROOT, "laketune prepare: wrote %s in %.1f s%n", output, seconds);
    out.printf(Locale.ROOT, "  %-16s %15s %15s%n", "", "train", "validation");
    row(out, "examples", train.examples(), val.examples());
    row(out, "rows", train.rows(), val.rows());
    row(out, "shards", train.shards().size(), val.shards().size());
    row(out, "tokens", train.tokens(), val.tokens());
    row(out, "trained tokens", train.trainedTokens(), val.trainedTokens());
    long capacity = (train.rows() + val.rows()) * (long) m.seqLen();
    if (capacity > 0) {
      out.printf(Locale.ROOT, "  %-16s %14.1f%%%n", "fill of seq_len",
          100.0 * (train.tokens() + val.tokens()) / capacity);
    }
    Manifest.Counts c = m.counts();
    out.printf(Locale.ROOT, "  records read %,d: kept %,d, rejected %,d%s, dropped %,d%s, duplicates %,d;"
            + " truncated %,d%n",
        c.recordsRead(), c.kept(), c.rejected(), reasons(c.rejectedByReason()), c.dropped(),
        reasons(c.droppedByReason()), c.duplicates(), c.truncated());
    long tokens = train.tokens() + val.tokens();
    out.printf(Locale.ROOT, "  throughput: %,.0f records/s, %,.0f tokens/s (%,.0f tokens/s per core, %d cores)%n",
        c.recordsRead() / seconds, tokens / seconds, tokens / seconds / Math.max(1, cores), cores);
    if (c.rejected() > 0) {
      out.printf(Locale.ROOT, "  rejected records, with where each came from and why: %s/rejects/%n", output);
    }
  }

  private static void row(PrintStream out, String name, long train, long val) {
    out.printf(Locale.ROOT, "  %-16s %,15d %,15d%n", name, train, val);
  }

  private static String reasons(Map<String, Long> byReason) {
    if (byReason.isEmpty()) {
      return "";
    }
    StringBuilder s = new StringBuilder(" (");
    byReason.forEach((k, v) -> s.append(s.length() > 2 ? ", " : "").append(k).append(' ').append(v));
    return s.append(')').toString();
  }
}
