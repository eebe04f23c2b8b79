package io.laketune.platform;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A child JVM's view of the native build: loads ND4J, multiplies two matrices with {@code Nd4j.gemm}
 * and checks the product against a plain Java loop, then prints one line
 * {@code probe: {"chosen":..,"loaded":..,"property":..,"max_rel_err":..,"flags_from":..}}.
 *
 * <p>Mode {@code library} touches ND4J first, as a program that uses laketune as a library and never
 * calls it does (the ND4J hook must choose); mode {@code init} calls {@link NativeBuilds#init()} first,
 * as laketune's entry points do. Argument 2 is the matrix size (default 96).
 */
public final class GemmProbe {
  public static void main(String[] args) {
    String mode = args.length > 0 ? args[0] : "library";
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 96;
    if (mode.equals("init")) NativeBuilds.init();
    double err = check(n);
    NativeBuilds.Selection s = NativeBuilds.current();
    NativeBuild loaded = NativeBuilds.loaded();
    System.out.println("probe: {\"chosen\":" + quote(s == null || s.build() == null ? null : s.build().label())
        + ",\"loaded\":" + quote(loaded == null ? null : loaded.label())
        + ",\"property\":" + quote(System.getProperty(NativeBuilds.PROPERTY))
        + ",\"max_rel_err\":" + err
        + ",\"flags_from\":" + quote(s == null ? null : s.cpu().source()) + "}");
  }

  /** max |ND4J - Java| / max |Java| over an n x n x n product of seeded uniform matrices. */
  public static double check(int n) {
    Random rnd = new Random(42);
    float[][] a = new float[n][n], b = new float[n][n];
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
      a[i][j] = rnd.nextFloat() - 0.5f;
      b[i][j] = rnd.nextFloat() - 0.5f;
    }
    INDArray x = Nd4j.createFromArray(a), y = Nd4j.createFromArray(b), c = Nd4j.create(DataType.FLOAT, n, n);
    Nd4j.gemm(x, y, c, false, false, 1.0, 0.0);
    double maxErr = 0, maxRef = 0;
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
      double ref = 0;
      for (int k = 0; k < n; k++) ref += (double) a[i][k] * b[k][j];
      maxErr = Math.max(maxErr, Math.abs(c.getDouble(i, j) - ref));
      maxRef = Math.max(maxRef, Math.abs(ref));
    }
    return maxErr / maxRef;
  }

  private static String quote(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
