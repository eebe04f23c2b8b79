package io.laketune.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Which Spark machinery should carry the all-gather of the sharded path: the 34 M-element vector of
 * the benchmark model, held as 2 shards cached on 2 one-core executors of a standalone cluster on
 * 127.0.0.1, is delivered whole to one task per executor, three ways:
 *
 * <ul>
 *   <li>block manager: a CoalescedRDD whose every partition lists all shard blocks (what ShardedSync does);
 *   <li>shuffle: every shard writes each of its chunks once per reader, readers fetch their partition;
 *   <li>broadcast: the driver holds the vector and broadcasts it (today's path, and the driver's memory).
 * </ul>
 *
 * <p>Run: {@code java <spark java options> -cp <test classpath> io.laketune.train.GatherBenchmark [reps]}.
 */
public final class GatherBenchmark {
  public static void main(String[] args) throws Exception {
    int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    long total = 34_087_424L; // the benchmark model's parameters
    Chunking ch = new Chunking(total, 4_194_304, 2);
    Path work = Files.createTempDirectory("laketune-gather-bench");
    try (StandaloneCluster cluster = new StandaloneCluster(work, 2, "6g")) {
      JavaSparkContext sc = cluster.context("laketune gather benchmark", 2, "2g");
      sc.setLogLevel("WARN");
      try {
        StandaloneCluster.awaitExecutors(sc, 2);
        JavaRDD<ShardState> state = sc.parallelize(List.of(0, 1), 2).map(s -> {
          Random rnd = new Random(s);
          int n = ch.chunksOf(s), first = ch.firstChunk(s);
          float[][] v = new float[n][];
          for (int i = 0; i < n; i++) {
            v[i] = new float[ch.chunkLength(first + i)];
            for (int j = 0; j < v[i].length; j++) v[i][j] = (float) rnd.nextGaussian();
          }
          return new ShardState(s, first, v, v, v, 0, RoundStats.NONE);
        });
        state.persist(StorageLevel.MEMORY_AND_DISK());
        for (String payload : new String[] {"FP32", "BF16"}) {
          TrainConfig.Payload p = TrainConfig.Payload.valueOf(payload);
          JavaRDD<ParamBlock> blocks = state.map(s -> ParamBlock.of(s, 1, p));
          blocks.persist(StorageLevel.MEMORY_AND_DISK());
          blocks.count();
          long viaBlocks = time(reps, () -> {
            int[][] groups = {{0, 1}, {1, 0}};
            JavaRDD<ParamBlock> g = new JavaRDD<>(blocks.rdd().coalesce(2, false,
                scala.Option.apply(new PinnedGroups(groups, new String[2])), null), scala.reflect.ClassTag$.MODULE$.apply(ParamBlock.class));
            check(g.mapPartitions(it -> {
              float[] buf = new float[ch.chunkElements()];
              long n = 0;
              while (it.hasNext()) {
                ParamBlock b = it.next();
                for (int i = 0; i < b.chunks(); i++) {
                  b.read(0, i, buf);
                  n += b.length(i);
                }
              }
              return List.of(n).iterator();
            }).collect(), total);
          });
          long viaShuffle = time(reps, () -> {
            JavaPairRDD<Integer, byte[]> out = blocks.flatMapToPair(b -> {
              List<Tuple2<Integer, byte[]>> recs = new ArrayList<>();
              float[] buf = new float[ch.chunkElements()];
              for (int i = 0; i < b.chunks(); i++) {
                b.read(0, i, buf);
                byte[] bytes = ChunkCodec.encode(buf, b.length(i), p);
                for (int w = 0; w < 2; w++) recs.add(new Tuple2<>(w, bytes));
              }
              return recs.iterator();
            }).partitionBy(new HashPartitioner(2));
            check(out.mapPartitions(it -> {
              float[] buf = new float[ch.chunkElements()];
              long n = 0;
              while (it.hasNext()) {
                byte[] b = it.next()._2();
                int len = b.length / p.bytes;
                ChunkCodec.decode(b, 0, len, p, buf);
                n += len;
              }
              return List.of(n).iterator();
            }).collect(), total);
          });
          System.out.printf("all-gather of %,d elements (%s) to 2 executors: block manager %d ms, shuffle %d ms%n",
              total, payload.toLowerCase(), viaBlocks, viaShuffle);
          blocks.unpersist(true);
        }
        float[] whole = new float[(int) total];
        long viaBroadcast = time(reps, () -> {
          Broadcast<float[]> b = sc.broadcast(whole);
          check(sc.parallelize(IntStream.range(0, 2).boxed().toList(), 2).map(i -> (long) b.value().length).collect(), total);
          b.destroy();
        });
        System.out.printf("all-gather of %,d elements (fp32) to 2 executors: driver broadcast %d ms%n", total, viaBroadcast);
      } finally {
        sc.stop();
      }
    }
  }

  /** Median of reps runs after one warm-up, in ms. */
  static long time(int reps, Runnable r) {
    r.run();
    long[] t = new long[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      r.run();
      t[i] = (System.nanoTime() - t0) / 1_000_000;
    }
    java.util.Arrays.sort(t);
    return t[reps / 2];
  }

  static void check(List<Long> counts, long total) {
    for (long c : counts) if (c != total) throw new IllegalStateException("a reader got " + c + " of " + total + " elements");
  }
}
