package io.laketune.train;

import io.laketune.train.data.RowSource;
import io.laketune.train.data.StepPlan;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.TaskContext;

/**
 * The treeAggregate accumulator of a multi-tenant round: one {@link GradientSum} per tenant, summed
 * over workers exactly as a single-tenant round sums it, and the first error a tenant's micro-batches
 * raised (that tenant fails; the others' sums are unaffected).
 */
final class TenantGradients implements Serializable {
  /** Spark local property of the test hook: the named tenant's loss comes back NaN, as a diverged run's would. */
  static final String NON_FINITE_TENANT = "spark.laketune.test.nonFiniteTenant";

  /**
   * One tenant's step in a round, as the workers get it.
   *
   * @param step the tenant's own step (tenants stand at different steps)
   */
  record TenantStep(String tenant, ModelSpec spec, RowSource source, StepPlan plan, long step, long seed)
      implements Serializable {}

  final Map<String, GradientSum> sums = new TreeMap<>();
  final Map<String, String> errors = new TreeMap<>();

  /** Worker w's share of every tenant's step: its micro-batches of each, on the executor's replicas of the one base. */
  TenantGradients add(int worker, List<TenantStep> steps, Map<String, float[]> values) {
    TaskContext tc = TaskContext.get();
    String nonFinite = tc == null ? null : tc.getLocalProperty(NON_FINITE_TENANT);
    for (TenantStep t : steps) {
      if (errors.containsKey(t.tenant())) continue;
      try {
        GradientSum g = Worker.gradients(t.spec(), t.source(), t.plan(), values.get(t.tenant()), t.step(), worker, t.seed());
        if (t.tenant().equals(nonFinite)) g.lossSum = Double.NaN;
        sums.merge(t.tenant(), g, GradientSum::merge);
      } catch (RuntimeException e) {
        errors.put(t.tenant(), e.getMessage() == null ? e.toString() : e.getMessage());
      }
    }
    return this;
  }

  TenantGradients merge(TenantGradients o) {
    o.sums.forEach((k, v) -> sums.merge(k, v, GradientSum::merge));
    o.errors.forEach(errors::putIfAbsent);
    return this;
  }
}
