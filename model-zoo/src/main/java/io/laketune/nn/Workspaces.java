package io.laketune.nn;

import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
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

  /** One half of a block's backward (MLP, then attention): its temporaries die before the next half. */
  public static final String HALF = "laketune-half";

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

  /**
   * Creates this thread's workspace {@code name} of {@code bytes} (a {@link #reservedSize}), unless it
   * exists already. Its later growth
   * follows the same policies as one sized on the first step.
   */
  public static void reserve(String name, long bytes) {
    if (Nd4j.getWorkspaceManager().checkIfWorkspaceExists(name)) return;
    WorkspaceConfiguration conf = WorkspaceConfiguration.builder()
        .initialSize(bytes)
        .policyAllocation(AllocationPolicy.STRICT)
        .policyLearning(LearningPolicy.FIRST_LOOP)
        .policySpill(SpillPolicy.REALLOCATE)
        .build();
    Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(conf, name);
  }

  /**
   * Runs {@code part} in the {@link #HALF} workspace and moves its result into the workspace open
   * around the call, so the part's temporaries are reused by the next part instead of piling up.
   */
  public static INDArray scoped(java.util.function.Supplier<INDArray> part) {
    MemoryWorkspace outer = Nd4j.getMemoryManager().getCurrentWorkspace();
    try (MemoryWorkspace ws = open(HALF)) {
      INDArray out = part.get();
      return outer == null ? out.detach() : out.leverageTo(outer.getId());
    }
  }

  /** The size to reserve for cycles predicted at {@code bytes}: 2% and 1 MB more for array alignment and small arrays. */
  public static long reservedSize(long bytes) {
    return bytes + bytes / 50 + (1 << 20);
  }

  /** A scope in which allocations are ordinary, long-lived arrays. */
  public static MemoryWorkspace outside() {
    return Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
  }
}
