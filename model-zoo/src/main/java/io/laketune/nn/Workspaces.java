package io.laketune.nn;

import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J memory workspaces for the training hot path. A fresh native allocation costs far more than
 * the op that fills it (JavaCPP frees only after a garbage collection, so every new array touches
 * fresh pages); inside a workspace, arrays are carved out of one block that is learned on the
 * first step and reused by every later one.
 *
 * <p>Arrays made inside a scope die when it closes: anything that must outlive a step (parameters,
 * gradients, optimizer moments, caches of tables, results handed to callers) is allocated
 * {@link #outside()} or detached. Workspaces are per thread, so concurrent tasks do not share one.
 */
public final class Workspaces {
  /** Everything one forward/backward allocates. */
  public static final String STEP = "laketune-step";
  /** One block's recompute and backward under activation checkpointing. */
  public static final String BLOCK = "laketune-block";

  private static final WorkspaceConfiguration CONF = WorkspaceConfiguration.builder()
      .policyAllocation(AllocationPolicy.OVERALLOCATE)
      .overallocationLimit(0.1)
      .policyLearning(LearningPolicy.FIRST_LOOP)
      .policySpill(SpillPolicy.REALLOCATE)
      .build();

  private Workspaces() {}

  /** Opens (or re-enters) the named workspace on this thread; close it when the step is done. */
  public static MemoryWorkspace open(String name) {
    return Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONF, name);
  }

  /** A scope in which allocations are ordinary, long-lived arrays. */
  public static MemoryWorkspace outside() {
    return Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
  }
}
