package io.laketune.nn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Chooses ND4J's native build before ND4J loads: the oneDNN AVX-512 build (about twice the fp32
 * GEMM rate of the plain OpenBLAS build on such CPUs) when its jar is on the classpath and the CPU
 * has AVX-512, else the plain build. JavaCPP reads the choice from the system property
 * {@code org.bytedeco.javacpp.platform.extension}; a value the user set is left alone.
 */
public final class Nd4jBackend {
  static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";
  private static final String ONEDNN = "-onednn-avx512";

  static {
    configure();
  }

  private Nd4jBackend() {}

  /** Idempotent; call before the first use of Nd4j (class loading runs it once). */
  public static void ensureConfigured() {
    // the static initializer has run
  }

  private static void configure() {
    if (System.getProperty(PROPERTY) != null) return;
    String lib = "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64" + ONEDNN + "/libnd4jcpu.so";
    if (Nd4jBackend.class.getClassLoader().getResource(lib) == null) return;
    if (!cpuHasAvx512()) return;
    System.setProperty(PROPERTY, ONEDNN);
  }

  static boolean cpuHasAvx512() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("flags")) return line.contains(" avx512f") && line.contains(" avx512bw");
      }
    } catch (IOException | SecurityException e) {
      return false;
    }
    return false;
  }
}
