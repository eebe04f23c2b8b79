package io.laketune.train;

import io.laketune.platform.GemmProbe;
import io.laketune.platform.NativeBuild;
import io.laketune.platform.NativeBuilds;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Run by spark-submit in {@link SparkNativeBuildTest}: the driver and each executor (their own JVMs)
 * report the native build they chose and loaded, after a GEMM checked against a Java loop. The tasks
 * touch ND4J directly, so nothing but the executor's own start-up chooses there.
 */
public final class NativeBuildSparkProbe {
  public static void main(String[] args) {
    NativeBuilds.init();
    JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("laketune native-build probe"));
    try {
      System.out.println("jvm: " + describe("driver"));
      List<String> executors = sc.parallelize(List.of(0, 1, 2, 3), 4).map(i -> describe("executor")).distinct().collect();
      for (String e : executors) System.out.println("jvm: " + e);
    } finally {
      sc.stop();
    }
  }

  static String describe(String role) {
    double err = GemmProbe.check(64);
    NativeBuilds.Selection s = NativeBuilds.current();
    NativeBuild loaded = NativeBuilds.loaded();
    return "{\"role\":\"" + role + "\",\"pid\":" + ProcessHandle.current().pid() + ",\"chosen\":\""
        + (s.build() == null ? "" : s.build().label()) + "\",\"loaded\":\"" + (loaded == null ? "" : loaded.label())
        + "\",\"flags_from\":\"" + s.cpu().source() + "\",\"max_rel_err\":" + err + "}";
  }
}
