package io.laketune.train;

import io.laketune.model.Loss;
import io.laketune.optim.AdamW;
import io.laketune.optim.LrSchedule;
import io.laketune.train.data.RowSource;
import io.laketune.train.data.StepPlan;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.storage.StorageLevel;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The sharded synchronisation, driven from the driver but holding nothing of model size there. The
 * flat vector is cut by {@link Chunking} into shards, one per worker; shard s's {@link ShardState}
 * (fp32 masters and AdamW moments) is an RDD block cached on one executor (memory, spilling to disk),
 * and next to it a {@link ParamBlock} of the values that travel. A {@code gradients} round is two
 * Spark jobs:
 *
 * <ol>
 *   <li>gather + compute + reduce-scatter: worker w's task reads every shard's ParamBlock through
 *       the block manager (a CoalescedRDD whose partition w lists all shards), trains its micro-batches
 *       and writes its gradient chunk by chunk to a shuffle keyed by (chunk, worker); shard s's task
 *       receives its chunks sorted, sums them in worker order, and reports each chunk's sum of squares;
 *   <li>the driver forms the global gradient norm from those (in chunk order) and decides clipping and
 *       skipping; then each shard applies AdamW to its chunks where it lives, making the next state.
 * </ol>
 *
 * A {@code parameters} round is one job: the gather carries values and moments, the shuffle carries
 * the workers' values and moments after their local steps, and each shard averages its chunks.
 *
 * <p>Each new state is locally checkpointed (its lineage cut, so rounds never pile up), and the last
 * round's state, blocks and shuffle are dropped. A lost executor takes its shards with it; the next job
 * then fails with Spark's "checkpoint block not found", which {@link #shardLost} recognises and the
 * trainer answers by rebuilding every shard from the last checkpoint.
 */
final class ShardedSync {
  private final JavaSparkContext sc;
  final Chunking ch;
  final TrainConfig.Payload payload;
  /** 1 (values) in gradients mode, 3 (values, m, v) in parameters mode. */
  private final int planes;
  private JavaRDD<ShardState> state;
  private JavaRDD<ParamBlock> blocks;
  private String[] locations;

  /** Where a shard's blocks were cached, and the reports of the round that made them. */
  record Placement(int shard, String location, RoundStats round) implements java.io.Serializable {}

  /** The outcome of a gradients round's first job. */
  record Reduced(RoundStats stats, double norm, JavaRDD<ReducedShard> shards, JavaPairRDD<Long, byte[]> shuffle) {}

  ShardedSync(JavaSparkContext sc, Chunking ch, TrainConfig.Payload payload, int planes) {
    this.sc = sc;
    this.ch = ch;
    this.payload = payload;
    this.planes = planes;
    this.locations = new String[ch.shards()];
  }

  int shards() {
    return ch.shards();
  }

  /** Bytes one worker pulls in a gather (and pushes in a reduce-scatter): the vector's planes in the payload type. */
  long vectorBytes() {
    return ch.total() * planes * payload.bytes;
  }

  /** Builds every shard's state with {@code build} (from the base model or a checkpoint), in parallel. */
  void init(Function<Integer, ShardState> build) {
    List<Integer> ids = IntStream.range(0, ch.shards()).boxed().toList();
    install(pin(sc.parallelize(ids, ch.shards()).map(build)), null);
  }

  // ---- gradients mode ----

  Reduced reduce(ModelSpec spec, RowSource source, StepPlan plan, long step, long seed) {
    final Chunking c = ch;
    final TrainConfig.Payload p = payload;
    final int n = ch.shards();
    JavaRDD<scala.Tuple2<Long, byte[]>> records = gather().mapPartitionsWithIndex(
        (w, it) -> ShardTasks.gradients(spec, source, plan, c, p, it, step, w, n, seed), true);
    JavaPairRDD<Long, byte[]> sorted = JavaPairRDD.fromJavaRDD(records).repartitionAndSortWithinPartitions(new ShardKeys(c, n));
    JavaRDD<ReducedShard> reduced = pin(sorted.mapPartitionsWithIndex(
        (s, it) -> List.of(ShardTasks.reduceGradients(s, c, p, n, it)).iterator(), true));
    reduced.persist(StorageLevel.MEMORY_AND_DISK());
    List<Object[]> sums = new ArrayList<>(reduced.map(r -> new Object[] {r.shard(), r.sumSquares(), r.stats()}).collect());
    sums.sort(java.util.Comparator.comparingInt(o -> (Integer) o[0]));
    RoundStats stats = (RoundStats) sums.get(0)[2];
    double ss = 0;
    for (Object[] o : sums) {
      if (!o[2].equals(stats)) throw new IllegalStateException("shards disagree on the round's reports: " + o[2] + " vs " + stats);
      for (double x : (double[]) o[1]) ss += x;
    }
    return new Reduced(stats, Math.sqrt(ss), reduced, sorted);
  }

  /**
   * Applies AdamW on every shard to the reduced gradient ({@code clip} scales it when {@code clipped});
   * the optimizer's groups come from the layout and config on the executor.
   */
  void update(Reduced r, TrainConfig cfg, TrainableLayout layout, double lr, double clip, boolean clipped) {
    final Chunking c = ch;
    JavaRDD<ShardState> next = pin(state.zipPartitions(r.shards(), (a, b) -> {
      TrainConfig.Optimizer o = cfg.optimizer();
      AdamW.Hyper hyper = new AdamW.Hyper(o.beta1(), o.beta2(), o.eps(), o.weightDecay());
      List<AdamW.Group> groups = io.laketune.optim.ParamGroups.of(layout.shapeMap(), o.loraPlusRatio());
      return List.of(ShardTasks.update(a.next(), b.next(), c, hyper, groups, lr, clip, clipped)).iterator();
    }));
    install(next, r);
  }

  /** Drops a round's reduced gradient without applying it (a skipped non-finite step). */
  void discard(Reduced r) {
    r.shards().unpersist(false);
    cleanShuffle(r.shuffle());
  }

  // ---- parameters mode ----

  RoundStats localRound(ModelSpec spec, RowSource source, StepPlan plan, long optimizerSteps, long first, int k,
      TrainConfig cfg, LrSchedule schedule) {
    final Chunking c = ch;
    final TrainConfig.Payload p = payload;
    final int n = ch.shards();
    final long steps = optimizerSteps + k;
    JavaRDD<scala.Tuple2<Long, byte[]>> records = gather().mapPartitionsWithIndex(
        (w, it) -> ShardTasks.localSteps(spec, source, plan, c, p, it, optimizerSteps, first, k, w, n, cfg, schedule), true);
    JavaPairRDD<Long, byte[]> sorted = JavaPairRDD.fromJavaRDD(records).repartitionAndSortWithinPartitions(new ShardKeys(c, n));
    JavaRDD<ShardState> next = pin(sorted.mapPartitionsWithIndex(
        (s, it) -> List.of(ShardTasks.reduceAverages(s, c, p, n, steps, it)).iterator(), true));
    List<Placement> placed = install(next, null);
    cleanShuffle(sorted);
    return placed.get(0).round();
  }

  // ---- evaluation and checkpoints ----

  Loss evaluate(ModelSpec spec, RowSource source, int micro) {
    final Chunking c = ch;
    final int n = ch.shards();
    return gather().mapPartitionsWithIndex((w, it) -> List.of(ShardTasks.evaluate(spec, source, c, it, w, n, micro)).iterator(), true)
        .reduce(Loss::plus);
  }

  /**
   * Writes the model files and optimizer shards of the current state into {@code dir} (a Hadoop URI),
   * every file by one executor task; returns the model file plan for the index.
   */
  List<ShardFiles.FileSpec> writeFiles(String dir, TrainableLayout layout, long maxFileBytes, HadoopConf conf) {
    final Chunking c = ch;
    pin(state).foreach(s -> ShardTasks.writeOptimizerShard(dir, s, c, conf.get()));
    JavaRDD<ParamBlock> masters = blocks;
    boolean own = payload != TrainConfig.Payload.FP32 || planes != 1;
    if (own) {
      // the values that travel are rounded (or carry moments): write the fp32 masters instead
      masters = pin(state).map(s -> ParamBlock.of(s, 1, TrainConfig.Payload.FP32));
      masters.persist(StorageLevel.MEMORY_AND_DISK());
      masters.count();
    }
    List<ShardFiles.FileSpec> plan = ShardFiles.modelPlan(layout, maxFileBytes);
    int[][] groups = new int[plan.size()][];
    String[] locs = new String[plan.size()];
    for (int j = 0; j < plan.size(); j++) {
      groups[j] = ShardFiles.overlapping(c, plan.get(j).start(layout), plan.get(j).end(layout));
      locs[j] = groups[j].length == 0 ? null : locations[groups[j][0]];
    }
    coalesce(masters, groups, locs).mapPartitionsWithIndex((j, it) -> {
      ShardTasks.writeModelFile(dir, plan.get(j), layout, c, it, conf.get());
      return java.util.Collections.<Integer>emptyIterator();
    }, true).count();
    if (own) masters.unpersist(false);
    return plan;
  }

  /** Writes only the optimizer shards of the current state into {@code dir} (the adapter path writes its weights itself). */
  void writeOptimizerShards(String dir, HadoopConf conf) {
    final Chunking c = ch;
    pin(state).foreach(s -> ShardTasks.writeOptimizerShard(dir, s, c, conf.get()));
  }

  /**
   * The fp32 masters gathered on the driver, for a trainable vector that fits one array (an adapter,
   * whose PEFT file the driver writes).
   */
  float[] collectValues() {
    float[] out = new float[Math.toIntExact(ch.total())];
    // only the values travel, not the moments
    for (ShardState s : pin(state).map(x -> new ShardState(x.shard(), x.firstChunk(), x.values(), null, null, x.steps(), x.round())).collect()) {
      for (int i = 0; i < s.chunks(); i++) {
        float[] v = s.values()[i];
        System.arraycopy(v, 0, out, Math.toIntExact(ch.chunkStart(s.firstChunk() + i)), v.length);
      }
    }
    return out;
  }

  /** Drops every cached block of this sync. */
  void close() {
    if (blocks != null) blocks.unpersist(false);
    if (state != null) state.unpersist(false);
    blocks = null;
    state = null;
  }

  /**
   * True when a job failed because a shard's cached block is gone (its executor was lost): Spark's
   * local checkpoints say "Checkpoint block rdd_... not found". The trainer then restores from the last
   * checkpoint; any other failure is the user's to see.
   */
  static boolean shardLost(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      String m = c.getMessage();
      if (m != null && m.contains("Checkpoint block rdd_") && m.contains("not found")) return true;
    }
    return false;
  }

  // ---- plumbing ----

  /** Caches and locally checkpoints {@code next}, materialises its ParamBlocks beside it, drops the old ones. */
  private List<Placement> install(JavaRDD<ShardState> next, Reduced consumed) {
    next.persist(StorageLevel.MEMORY_AND_DISK());
    next.rdd().localCheckpoint();
    final int pl = planes;
    final TrainConfig.Payload p = payload;
    JavaRDD<ParamBlock> nextBlocks = next.map(s -> ParamBlock.of(s, pl, p));
    nextBlocks.persist(StorageLevel.MEMORY_AND_DISK());
    List<Placement> placed = new ArrayList<>(nextBlocks.map(b -> new Placement(b.shard, here(), b.round)).collect());
    placed.sort(java.util.Comparator.comparingInt(Placement::shard));
    for (Placement pl2 : placed) locations[pl2.shard()] = pl2.location();
    if (consumed != null) discard(consumed);
    if (blocks != null) blocks.unpersist(false);
    if (state != null) state.unpersist(false);
    state = next;
    blocks = nextBlocks;
    return placed;
  }

  /** Worker w reads every shard's block, its own shard's first (and runs where that one lives). */
  private JavaRDD<ParamBlock> gather() {
    int n = ch.shards();
    int[][] groups = new int[n][n];
    for (int w = 0; w < n; w++) for (int k = 0; k < n; k++) groups[w][k] = (w + k) % n;
    return coalesce(blocks, groups, locations.clone());
  }

  /** Partition s of {@code rdd} runs where shard s lives. */
  private <T> JavaRDD<T> pin(JavaRDD<T> rdd) {
    int n = ch.shards();
    int[][] groups = new int[n][];
    for (int s = 0; s < n; s++) groups[s] = new int[] {s};
    return coalesce(rdd, groups, locations.clone());
  }

  private static <T> JavaRDD<T> coalesce(JavaRDD<T> rdd, int[][] groups, String[] locations) {
    ClassTag<T> tag = ClassTag$.MODULE$.apply(Object.class);
    return new JavaRDD<>(rdd.rdd().coalesce(groups.length, false, scala.Option.apply(new PinnedGroups(groups, locations)), null), tag);
  }

  /** "executor_HOST_ID": the form of a location Spark's scheduler reads as this very executor. */
  private static String here() {
    SparkEnv env = SparkEnv.get();
    return "executor_" + env.blockManager().blockManagerId().host() + "_" + env.executorId();
  }

  /** Removes a finished round's shuffle files now rather than whenever the driver next collects garbage. */
  private void cleanShuffle(JavaPairRDD<Long, byte[]> sorted) {
    try {
      int id = ((ShuffleDependency<?, ?, ?>) sorted.rdd().dependencies().head()).shuffleId();
      if (sc.sc().cleaner().isDefined()) sc.sc().cleaner().get().doCleanupShuffle(id, false);
    } catch (RuntimeException e) {
      // the context cleaner removes it later; nothing depends on it being gone now
    }
  }

  @SuppressWarnings("unused")
  private static <T> Iterator<T> single(T t) {
    return List.of(t).iterator();
  }

  static IOException unwrap(Exception e) {
    return e instanceof IOException io ? io : new IOException(e.getMessage(), e);
  }
}
