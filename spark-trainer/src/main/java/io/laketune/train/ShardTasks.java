package io.laketune.train;

import io.laketune.checkpoint.HfCheckpointReader;
import io.laketune.model.HfModels;
import io.laketune.model.Loss;
import io.laketune.optim.AdamW;
import io.laketune.optim.LrSchedule;
import io.laketune.train.data.RowSource;
import io.laketune.train.data.Rows;
import io.laketune.train.data.StepPlan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.nd4j.linalg.api.ndarray.INDArray;
import scala.Tuple2;

/**
 * What the tasks of the sharded path do on the executors. Every function is deterministic in its
 * arguments: sums run in worker order, so retries and recomputations reproduce bit for bit.
 */
final class ShardTasks {
  private ShardTasks() {}

  // ---- building a shard's state ----

  /** Shard s from the base checkpoint (full fine-tuning): its values, zero moments, step 0. */
  static ShardState initFromBase(ModelSpec spec, Chunking ch, int s) {
    if (ch.chunksOf(s) == 0) return ShardState.empty(s, ch.firstChunk(s), 0);
    Replica r = Replicas.borrow(spec);
    try {
      if (!r.pristine) {
        // this replica has trained already: read the base weights again
        try (HfCheckpointReader ckpt = HfCheckpointReader.open(LocalModelDir.of(spec.model()))) {
          HfModels.readWeights(ckpt, HfModels.config(ckpt), r.model.params());
        }
        r.pristine = true;
      }
      INDArray flat = r.model.params().flatValues();
      FlatFloats.checkDense(flat);
      int n = ch.chunksOf(s), first = ch.firstChunk(s);
      float[][] values = new float[n][], m = new float[n][], v = new float[n][];
      for (int i = 0; i < n; i++) {
        int len = ch.chunkLength(first + i);
        values[i] = new float[len];
        FlatFloats.read(flat, ch.chunkStart(first + i), values[i], len);
        m[i] = new float[len];
        v[i] = new float[len];
      }
      return new ShardState(s, first, values, m, v, 0, RoundStats.NONE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the base model " + spec.model() + ": " + e.getMessage(), e);
    } finally {
      Replicas.release(spec, r);
    }
  }

  /** Shard s read by range from a checkpoint directory, whatever worker count wrote it. */
  static ShardState initFromCheckpoint(String dir, TrainableLayout layout, Chunking ch, int s, Configuration conf) {
    Path p = new Path(dir);
    try (ShardFiles.Reader in = new ShardFiles.Reader(p.getFileSystem(conf), p, layout)) {
      int n = ch.chunksOf(s), first = ch.firstChunk(s);
      float[][] values = new float[n][], m = new float[n][], v = new float[n][];
      for (int i = 0; i < n; i++) {
        int len = ch.chunkLength(first + i);
        long start = ch.chunkStart(first + i);
        values[i] = new float[len];
        m[i] = new float[len];
        v[i] = new float[len];
        in.readValues(start, values[i], len);
        in.readMoment("exp_avg", start, m[i], len);
        in.readMoment("exp_avg_sq", start, v[i], len);
      }
      return new ShardState(s, first, values, m, v, in.optimizerSteps(), RoundStats.NONE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Shard s of an adapter (LoRA) from the driver's values: the adapter starts where the driver's
   * seeded initialisation (or a loaded checkpoint) put it; moments are zero, or read by range from
   * checkpoint {@code dir} (sharded or unsharded optimizer files) when it is given.
   */
  static ShardState initFromValues(float[] all, String dir, TrainableLayout layout, Chunking ch, int s, Configuration conf) {
    int n = ch.chunksOf(s), first = ch.firstChunk(s);
    float[][] values = new float[n][], m = new float[n][], v = new float[n][];
    for (int i = 0; i < n; i++) {
      int len = ch.chunkLength(first + i);
      values[i] = new float[len];
      System.arraycopy(all, Math.toIntExact(ch.chunkStart(first + i)), values[i], 0, len);
      m[i] = new float[len];
      v[i] = new float[len];
    }
    if (dir == null) return new ShardState(s, first, values, m, v, 0, RoundStats.NONE);
    Path p = new Path(dir);
    try (ShardFiles.Reader in = new ShardFiles.Reader(p.getFileSystem(conf), p, layout)) {
      for (int i = 0; i < n; i++) {
        long start = ch.chunkStart(first + i);
        in.readMoment("exp_avg", start, m[i], m[i].length);
        in.readMoment("exp_avg_sq", start, v[i], v[i].length);
      }
      return new ShardState(s, first, values, m, v, in.optimizerSteps(), RoundStats.NONE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  // ---- the gather: every worker's replica gets the whole vector ----

  /**
   * Writes the gathered blocks into the replica's flat values (and, with {@code opt}, planes 1 and 2
   * into its moments), then zeroes its gradients. Every chunk must arrive exactly once.
   */
  static void load(Replica r, Iterator<ParamBlock> blocks, Chunking ch, AdamW opt) {
    INDArray flat = r.model.params().flatValues();
    FlatFloats.checkDense(flat);
    if (flat.length() != ch.total()) {
      throw new IllegalStateException("the shards hold " + ch.total() + " values but the replica trains " + flat.length()
          + "; driver and executors built different models");
    }
    float[] buf = new float[Math.max(1, (int) Math.min(ch.chunkElements(), ch.total()))];
    boolean[] seen = new boolean[ch.shards()];
    int chunks = 0;
    while (blocks.hasNext()) {
      ParamBlock b = blocks.next();
      if (seen[b.shard]) throw new IllegalStateException("shard " + b.shard + " arrived twice in a gather");
      seen[b.shard] = true;
      for (int i = 0; i < b.chunks(); i++) {
        long at = ch.chunkStart(b.firstChunk + i);
        int len = b.length(i);
        b.read(0, i, buf);
        FlatFloats.write(buf, len, flat, at);
        if (opt != null) {
          b.read(1, i, buf);
          FlatFloats.write(buf, len, opt.expAvg(), at);
          b.read(2, i, buf);
          FlatFloats.write(buf, len, opt.expAvgSq(), at);
        }
        chunks++;
      }
    }
    if (chunks != ch.chunks()) throw new IllegalStateException("a gather brought " + chunks + " of " + ch.chunks() + " chunks");
    r.model.params().zeroGrads();
    r.pristine = false;
  }

  // ---- gradients mode ----

  /**
   * Worker w of a gradients round: gathers the parameters, runs its micro-batches, and emits its
   * report (once per shard) and its gradient, chunk by chunk, encoded lazily as the shuffle writes.
   */
  static Iterator<Tuple2<Long, byte[]>> gradients(ModelSpec spec, RowSource source, StepPlan plan, Chunking ch,
      TrainConfig.Payload payload, Iterator<ParamBlock> blocks, long step, int worker, int workers, long seed) {
    long g0 = System.currentTimeMillis();
    Rows rows = source.open();
    Replica r = Replicas.borrow(spec);
    boolean handedOver = false;
    try {
      load(r, blocks, ch, null);
      // compute time starts once the gather is in (it is sync, as the broadcast is on the other path)
      long t0 = System.currentTimeMillis();
      Loss total = Worker.accumulate(r, rows, plan, step, worker, seed);
      r.eval();
      Worker.maybeFail(step, worker);
      Worker.maybeHalt(step, worker);
      RoundStats stats = new RoundStats(total.sum(), total.count(), 0, System.currentTimeMillis() - t0, t0 - g0, 1);
      handedOver = true;
      return new Records(spec, r, ch, payload, stats, worker, workers, new INDArray[] {r.model.params().flatGrads()});
    } finally {
      if (!handedOver) {
        r.eval();
        Replicas.release(spec, r);
      }
    }
  }

  /**
   * Shard s of a gradients round: its chunks' contributions arrive sorted by (chunk, worker), so
   * each chunk is summed in worker order as it streams in, then divided by the round's token count.
   */
  static ReducedShard reduceGradients(int s, Chunking ch, TrainConfig.Payload payload, int workers,
      Iterator<Tuple2<Long, byte[]>> in) {
    RoundStats stats = readReports(s, workers, in);
    int first = ch.firstChunk(s), n = ch.chunksOf(s);
    float[][] grad = new float[n][];
    double[] sumSq = new double[n];
    float[] scratch = new float[Math.max(1, (int) Math.min(ch.chunkElements(), ch.total()))];
    float tokens = (float) stats.tokens();
    for (int i = 0; i < n; i++) {
      int c = first + i, len = ch.chunkLength(c);
      float[] acc = new float[len];
      for (int w = 0; w < workers; w++) {
        byte[] b = expect(in, ShardKeys.chunkKey(c, w, workers), s);
        if (w == 0) ChunkCodec.decode(b, 0, len, payload, acc);
        else ChunkCodec.addDecoded(b, 0, len, payload, acc, scratch);
      }
      double ss = 0;
      for (int j = 0; j < len; j++) {
        if (stats.tokens() > 0) acc[j] /= tokens;
        ss += (double) acc[j] * acc[j];
      }
      grad[i] = acc;
      sumSq[i] = ss;
    }
    if (in.hasNext()) throw new IllegalStateException("shard " + s + " received a record for chunk " + ShardKeys.chunkOf(in.next()._1(), workers) + " it does not own");
    return new ReducedShard(s, first, grad, sumSq, stats);
  }

  /** Shard s's AdamW step: a new state (the old one stays intact for a retry). */
  static ShardState update(ShardState st, ReducedShard red, Chunking ch, AdamW.Hyper hyper, List<AdamW.Group> groups,
      double lr, double clip, boolean clipped) {
    int n = st.chunks();
    float[][] p = new float[n][], m = new float[n][], v = new float[n][];
    long t = st.steps() + 1;
    for (int i = 0; i < n; i++) {
      p[i] = st.values()[i].clone();
      m[i] = st.m()[i].clone();
      v[i] = st.v()[i].clone();
      ChunkAdamW.step(p[i], red.grad()[i], m[i], v[i], p[i].length, ch.chunkStart(st.firstChunk() + i), t, hyper, groups,
          lr, (float) clip, clipped);
    }
    return new ShardState(st.shard(), st.firstChunk(), p, m, v, t, red.stats());
  }

  // ---- parameters mode (local SGD) ----

  /** Worker w of a local-SGD round: k local steps from the gathered values and moments, then all three emitted. */
  static Iterator<Tuple2<Long, byte[]>> localSteps(ModelSpec spec, RowSource source, StepPlan plan, Chunking ch,
      TrainConfig.Payload payload, Iterator<ParamBlock> blocks, long optimizerSteps, long first, int k, int worker,
      int workers, TrainConfig cfg, LrSchedule schedule) {
    long g0 = System.currentTimeMillis();
    Rows rows = source.open();
    Replica r = Replicas.borrow(spec);
    boolean handedOver = false;
    try {
      AdamW opt = Trainer.optimizer(cfg, r.model.params());
      load(r, blocks, ch, opt);
      long t0 = System.currentTimeMillis();
      opt.restore(optimizerSteps, opt.expAvg(), opt.expAvgSq());
      RoundStats st = Worker.localStepsOn(r, opt, rows, plan, first, k, worker, cfg, schedule);
      Worker.maybeFail(first, worker);
      Worker.maybeHalt(first, worker);
      RoundStats stats = new RoundStats(st.lossSum(), st.tokens(), st.skipped(), System.currentTimeMillis() - t0, t0 - g0, 1);
      handedOver = true;
      return new Records(spec, r, ch, payload, stats, worker, workers,
          new INDArray[] {r.model.params().flatValues(), opt.expAvg(), opt.expAvgSq()});
    } finally {
      if (!handedOver) {
        r.eval();
        Replicas.release(spec, r);
      }
    }
  }

  /** Shard s of a local-SGD round: values and moments averaged over workers (summed in worker order). */
  static ShardState reduceAverages(int s, Chunking ch, TrainConfig.Payload payload, int workers, long steps,
      Iterator<Tuple2<Long, byte[]>> in) {
    RoundStats stats = readReports(s, workers, in);
    int first = ch.firstChunk(s), n = ch.chunksOf(s);
    float[][][] planes = new float[3][n][];
    float[] scratch = new float[Math.max(1, (int) Math.min(ch.chunkElements(), ch.total()))];
    float inv = 1.0f / workers;
    for (int i = 0; i < n; i++) {
      int c = first + i, len = ch.chunkLength(c);
      for (int p = 0; p < 3; p++) planes[p][i] = new float[len];
      for (int w = 0; w < workers; w++) {
        byte[] b = expect(in, ShardKeys.chunkKey(c, w, workers), s);
        for (int p = 0; p < 3; p++) {
          if (w == 0) ChunkCodec.decode(b, p * len * payload.bytes, len, payload, planes[p][i]);
          else ChunkCodec.addDecoded(b, p * len * payload.bytes, len, payload, planes[p][i], scratch);
        }
      }
      for (int p = 0; p < 3; p++) for (int j = 0; j < len; j++) planes[p][i][j] *= inv;
    }
    return new ShardState(s, first, planes[0], planes[1], planes[2], steps, stats);
  }

  /** The round's reports reduced per shard: every shard gets all workers' reports, in worker order. */
  static RoundStats readReports(int s, int workers, Iterator<Tuple2<Long, byte[]>> in) {
    RoundStats stats = RoundStats.NONE;
    for (int w = 0; w < workers; w++) stats = stats.plus(RoundStats.fromBytes(expect(in, ShardKeys.reportKey(s, w, workers), s)));
    return stats;
  }

  private static byte[] expect(Iterator<Tuple2<Long, byte[]>> in, long key, int shard) {
    if (!in.hasNext()) throw new IllegalStateException("shard " + shard + " is missing the record with key " + key);
    Tuple2<Long, byte[]> t = in.next();
    if (t._1() != key) throw new IllegalStateException("shard " + shard + " expected the record with key " + key + " but got " + t._1());
    return t._2();
  }

  // ---- evaluation and files ----

  static Loss evaluate(ModelSpec spec, RowSource source, Chunking ch, Iterator<ParamBlock> blocks, int worker, int workers, int micro) {
    Rows rows = source.open();
    Replica r = Replicas.borrow(spec);
    try {
      load(r, blocks, ch, null);
      return Worker.evaluateOn(r, rows, worker, workers, micro);
    } finally {
      Replicas.release(spec, r);
    }
  }

  static void writeModelFile(String dir, ShardFiles.FileSpec f, TrainableLayout layout, Chunking ch,
      Iterator<ParamBlock> blocks, Configuration conf) {
    Path p = new Path(dir);
    try {
      FileSystem fs = p.getFileSystem(conf);
      ShardFiles.writeModelFile(fs, p, f, layout, ch, blocks);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + f.name() + " to " + dir + ": " + e.getMessage(), e);
    }
  }

  static void writeOptimizerShard(String dir, ShardState s, Chunking ch, Configuration conf) {
    if (s.chunks() == 0) return;
    Path p = new Path(dir);
    String name = ShardFiles.optimizerFileName(s.shard(), ch.shards());
    try {
      ShardFiles.writeOptimizerShard(p.getFileSystem(conf), p, name, s, ch);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + name + " to " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * A worker's output records: its report once for every shard, then every chunk of its planes
   * (concatenated in one record), encoded one chunk at a time as the shuffle writer asks. The
   * replica goes back to the pool when the last record is taken or the task ends.
   */
  private static final class Records implements Iterator<Tuple2<Long, byte[]>> {
    private final ModelSpec spec;
    private final Replica replica;
    private final Chunking ch;
    private final TrainConfig.Payload payload;
    private final byte[] report;
    private final int worker;
    private final int workers;
    private final INDArray[] planes;
    private final float[] buf;
    private final AtomicBoolean released = new AtomicBoolean();
    private int next;

    Records(ModelSpec spec, Replica replica, Chunking ch, TrainConfig.Payload payload, RoundStats stats, int worker,
        int workers, INDArray[] planes) {
      this.spec = spec;
      this.replica = replica;
      this.ch = ch;
      this.payload = payload;
      this.report = stats.toBytes();
      this.worker = worker;
      this.workers = workers;
      this.planes = planes;
      this.buf = new float[Math.max(1, (int) Math.min(ch.chunkElements(), ch.total()))];
      TaskContext tc = TaskContext.get();
      if (tc != null) tc.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> release());
    }

    private void release() {
      if (released.compareAndSet(false, true)) Replicas.release(spec, replica);
    }

    @Override
    public boolean hasNext() {
      boolean more = next < ch.shards() + ch.chunks();
      if (!more) release();
      return more;
    }

    @Override
    public Tuple2<Long, byte[]> next() {
      if (!hasNext()) throw new NoSuchElementException();
      int i = next++;
      if (i < ch.shards()) return new Tuple2<>(ShardKeys.reportKey(i, worker, workers), report);
      int c = i - ch.shards(), len = ch.chunkLength(c);
      byte[] out = new byte[planes.length * len * payload.bytes];
      for (int p = 0; p < planes.length; p++) {
        FlatFloats.read(planes[p], ch.chunkStart(c), buf, len);
        ChunkCodec.encodeInto(buf, len, payload, out, p * len * payload.bytes);
      }
      return new Tuple2<>(ShardKeys.chunkKey(c, worker, workers), out);
    }
  }
}
