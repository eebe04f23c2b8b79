package io.laketune.bench;

import io.laketune.quant.QuantType;
import io.laketune.quant.QuantizedTensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Throughput of 4-bit quantisation (at load time, once per weight) and dequantisation (every use of a
 * packed weight) on one [rows, cols] fp32 weight of N(0, 0.02) values, in elements per second, with
 * the chunks of blocks spread over the common fork-join pool; also the fp32 copy rate of the same
 * tensor for scale. Best of {@code reps} runs after a warm-up.
 *
 * <p>Run: {@code java -cp ... io.laketune.bench.QuantBenchmark [rows cols reps]} (default 4096 4096 5);
 * add {@code -Djava.util.concurrent.ForkJoinPool.common.parallelism=1} for one core.
 */
public final class QuantBenchmark {
  public static void main(String[] args) {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
    int cols = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
    int reps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    Nd4j.getRandom().setSeed(1);
    INDArray w = Nd4j.randn(DataType.FLOAT, rows, cols).muli(0.02);
    INDArray dst = Nd4j.create(DataType.FLOAT, rows, cols);
    long n = w.length();
    System.out.printf("weight [%d, %d] = %,d elements, %d cores%n", rows, cols, n,
        Runtime.getRuntime().availableProcessors());
    double copy = n / best(reps, () -> dst.assign(w)) / 1e6;
    System.out.printf("fp32 copy (INDArray.assign):      %8.1f M elements/s%n", copy);
    for (QuantType type : QuantType.values()) {
      for (boolean dq : new boolean[] {false, true}) {
        String name = type.bnbName() + (dq ? "+dq" : "");
        QuantizedTensor q = QuantizedTensor.quantize(w, type, 64, dq);
        double quant = n / best(reps, () -> QuantizedTensor.quantize(w, type, 64, dq)) / 1e6;
        double dequant = n / best(reps, () -> q.dequantizeInto(dst)) / 1e6;
        System.out.printf("%-7s quantise %8.1f M elements/s   dequantise %8.1f M elements/s   %.4f bytes/weight%n",
            name, quant, dequant, (double) q.bytesResident() / n);
      }
    }
  }

  /** Seconds of the fastest of {@code reps} runs, after one warm-up run. */
  static double best(int reps, Runnable r) {
    r.run();
    double best = Double.MAX_VALUE;
    for (int i = 0; i < reps; i++) {
      long t = System.nanoTime();
      r.run();
      best = Math.min(best, (System.nanoTime() - t) / 1e9);
    }
    return best;
  }
}
