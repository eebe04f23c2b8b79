package io.laketune.prep.job;

import java.io.Serializable;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/** Counts over outcomes, per task, then merged on the driver: the figures of the manifest. */
final class Tally implements Serializable {

  long read;
  long examples;
  long truncated;
  final long[] splitExamples = new long[2];
  final long[] splitTokens = new long[2];
  final Map<String, Long> rejected = new TreeMap<>();
  final Map<String, Long> dropped = new TreeMap<>();
  /**
   * The same counts per tenant, by name; empty for a dataset of one tenant. A reject counts in its
   * tenant's when its tenant is known (see Outcome.Rejected).
   */
  final Map<String, Tally> tenants = new TreeMap<>();

  static Tally of(Iterator<Outcome> outcomes) {
    Tally t = new Tally();
    while (outcomes.hasNext()) {
      t.add(outcomes.next());
    }
    return t;
  }

  void add(Outcome outcome) {
    String tenant = outcome instanceof Outcome.Example e ? e.tenant()
        : outcome instanceof Outcome.Dropped d ? d.tenant() : ((Outcome.Rejected) outcome).tenant();
    if (!tenant.isEmpty()) {
      tenants.computeIfAbsent(tenant, t -> new Tally()).add1(outcome);
    }
    add1(outcome);
  }

  private void add1(Outcome outcome) {
    read++;
    if (outcome instanceof Outcome.Example e) {
      examples++;
      if (e.truncated()) {
        truncated++;
      }
      int split = e.validation() ? 1 : 0;
      splitExamples[split]++;
      splitTokens[split] += e.doc().length();
    } else if (outcome instanceof Outcome.Rejected r) {
      rejected.merge(r.reason(), 1L, Long::sum);
    } else if (outcome instanceof Outcome.Dropped d) {
      dropped.merge(d.reason(), 1L, Long::sum);
    }
  }

  Tally merge(Tally other) {
    read += other.read;
    examples += other.examples;
    truncated += other.truncated;
    for (int i = 0; i < 2; i++) {
      splitExamples[i] += other.splitExamples[i];
      splitTokens[i] += other.splitTokens[i];
    }
    other.rejected.forEach((k, v) -> rejected.merge(k, v, Long::sum));
    other.dropped.forEach((k, v) -> dropped.merge(k, v, Long::sum));
    other.tenants.forEach((k, v) -> tenants.merge(k, v, Tally::merge));
    return this;
  }

  long rejectedTotal() {
    return rejected.values().stream().mapToLong(Long::longValue).sum();
  }

  long droppedTotal() {
    return dropped.values().stream().mapToLong(Long::longValue).sum();
  }
}
