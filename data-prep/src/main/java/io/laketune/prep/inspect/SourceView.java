package io.laketune.prep.inspect;

import io.laketune.prep.source.SourceInfo;
import io.laketune.prep.write.Manifest;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code laketune inspect} prints about where a dataset came from: the manifest's source block
 * (table, location, version or snapshot and when it was committed, query and views, filter, key,
 * files) and the counts of what became of the records read.
 */
final class SourceView {

  private SourceView() {}

  static void print(Manifest m, PrintStream out) {
    SourceInfo s = m.source();
    if (s == null) {
      out.println("source: not recorded (prepared before laketune recorded sources)");
    } else {
      out.println("source: " + s.describe());
      if (s.requested() != null && !s.requested().equals("latest")) {
        out.println("  asked for: " + s.requested());
      } else if ("latest".equals(s.requested())) {
        out.println("  asked for: the latest; the manifest's config pins the version read");
      }
      if (s.query() != null) {
        out.println("  query: " + s.query());
      }
      if (s.views() != null) {
        for (Map.Entry<String, SourceInfo> v : s.views().entrySet()) {
          out.println("  view " + v.getKey() + ": " + v.getValue().describe());
        }
      }
      if (s.filter() != null) {
        out.println("  filter: " + s.filter());
      }
      if (s.key() != null) {
        out.println("  key: " + s.key());
      }
      if (s.files() != null) {
        out.printf(Locale.ROOT, "  files: %d%s, sha256 %s%n", s.files().count(),
            s.files().bytes() == null ? "" : String.format(Locale.ROOT, " (%,d bytes)", s.files().bytes()),
            s.files().sha256());
      }
    }
    Manifest.Counts c = m.counts();
    out.printf(Locale.ROOT, "records read %,d: kept %,d, rejected %,d, dropped %,d, duplicates %,d%n%n",
        c.recordsRead(), c.kept(), c.rejected(), c.dropped(), c.duplicates());
  }
}
