package io.laketune.nn;

/**
 * Opt-in wall-clock breakdown of a training step by kind of op, for {@code laketune bench --profile}.
 *
 * <p>Spans nest and are exclusive: a span's time minus its children's goes to its kind, so the
 * SwiGLU span counts only the elementwise work between its GEMMs. ND4J's CPU ops are synchronous,
 * so wall time around a call is its cost. Off (the default), {@link #start} and {@link #stop} are a
 * static boolean test. One thread only: the benchmark's; never switched on inside a Spark task.
 *
 * <pre>
 *   long t = OpProfile.start();
 *   ...
 *   OpProfile.stop(OpProfile.Kind.NORM, t);
 * </pre>
 */
public final class OpProfile {
  /** What a span's exclusive time is charged to. */
  public enum Kind {
    GEMM("base linear GEMMs (incl. lm_head)"),
    ADAPTER("LoRA adapter GEMMs and adds"),
    DEQUANT("expanding bf16/NF4 frozen weights"),
    ATTENTION("attention (tiled QK^T, softmax, PV, head reshapes)"),
    NORM("RMSNorm"),
    ROPE("RoPE"),
    SWIGLU("SwiGLU elementwise"),
    RESIDUAL("residual adds and block glue"),
    LOSS("cross-entropy and label gather (lm_head excluded)"),
    EMBED("embedding gather/scatter"),
    OPTIMIZER("AdamW update");

    public final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  private static boolean enabled;
  private static final long[] NANOS = new long[Kind.values().length];
  private static final long[] CHILD = new long[256];
  private static int depth;

  private OpProfile() {}

  /** Switches profiling on (clearing the totals) or off (keeping them to read). */
  public static void enable(boolean on) {
    if (on) reset();
    enabled = on;
  }

  public static boolean enabled() {
    return enabled;
  }

  public static void reset() {
    java.util.Arrays.fill(NANOS, 0);
    depth = 0;
  }

  /** Opens a span; returns its start time (0 when off). */
  public static long start() {
    if (!enabled) return 0;
    CHILD[depth++] = 0;
    return System.nanoTime();
  }

  /** Closes the span opened at {@code t0}, charging its exclusive time to {@code kind}. */
  public static void stop(Kind kind, long t0) {
    if (!enabled) return;
    long elapsed = System.nanoTime() - t0;
    NANOS[kind.ordinal()] += elapsed - CHILD[--depth];
    if (depth > 0) CHILD[depth - 1] += elapsed;
  }

  /** Exclusive nanoseconds charged to {@code kind} since the last reset. */
  public static long nanos(Kind kind) {
    return NANOS[kind.ordinal()];
  }
}
