package io.laketune.platform;

import java.util.ArrayList;
import java.util.List;

/**
 * One of ND4J 1.0.0-M2.1's native CPU builds: the classifier jar {@code nd4j-native-<v>-<platform><extension>.jar}
 * and the instruction sets its {@code libnd4jcpu} was compiled for (libnd4j's build: the {@code -avx2}
 * builds with {@code -mavx -mavx2 -mfma -mf16c}, the {@code -avx512} ones with
 * {@code -march=skylake-avx512}; the others for generic x86-64, oneDNN choosing its kernels at run time).
 * Running a build on a CPU without those instructions dies with SIGILL, which is why laketune chooses.
 */
public enum NativeBuild {
  PLAIN("", List.of()),
  AVX2("-avx2", CpuInfo.AVX2),
  AVX512("-avx512", avx512()),
  ONEDNN("-onednn", List.of()),
  ONEDNN_AVX2("-onednn-avx2", CpuInfo.AVX2),
  ONEDNN_AVX512("-onednn-avx512", avx512());

  private final String extension;
  private final List<String> requires;

  NativeBuild(String extension, List<String> requires) {
    this.extension = extension;
    this.requires = requires;
  }

  /** JavaCPP's {@code org.bytedeco.javacpp.platform.extension} value that loads this build ("" = plain). */
  public String extension() {
    return extension;
  }

  /** The jar's classifier on this platform, e.g. {@code linux-x86_64-onednn-avx2}. */
  public String classifier(String platform) {
    return platform + extension;
  }

  /** Short name used in messages and {@code laketune env}: {@code plain}, {@code onednn-avx2}, ... */
  public String label() {
    return extension.isEmpty() ? "plain" : extension.substring(1);
  }

  /** CPU flags the build needs beyond x86-64 (empty for the generic builds). */
  public List<String> requires() {
    return requires;
  }

  /** The flags of {@link #requires()} this CPU lacks (empty when it can run the build). */
  public List<String> missingOn(CpuInfo cpu) {
    List<String> missing = new ArrayList<>();
    for (String f : requires) if (!cpu.flags().contains(f)) missing.add(f);
    return missing;
  }

  /** Whether this x86-64 CPU executes every instruction the build uses. */
  public boolean runsOn(CpuInfo cpu) {
    return cpu.x86_64() && missingOn(cpu).isEmpty();
  }

  /** The build whose extension (with or without the leading dash) or label this is, or null. */
  public static NativeBuild fromExtension(String value) {
    String v = value == null ? "" : value.trim();
    for (NativeBuild b : values()) {
      if (b.extension.equals(v) || b.label().equals(v) || b.extension.equals("-" + v)) return b;
    }
    return null;
  }

  private static List<String> avx512() {
    List<String> all = new ArrayList<>(CpuInfo.AVX2);
    all.addAll(List.of("bmi1", "bmi2"));
    all.addAll(CpuInfo.AVX512);
    return List.copyOf(all);
  }
}
