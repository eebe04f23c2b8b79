package io.laketune.platform;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What this machine's CPU can execute, as far as choosing a native build goes: the architecture, the
 * model name and the instruction-set flags.
 *
 * <p>Two witnesses, both required for an instruction set to count. Linux's {@code /proc/cpuinfo}
 * lists what the CPU has and the kernel enabled (AVX-512 state saving included). HotSpot's own CPUID
 * probe, read back as its {@code UseAVX} and {@code UseFMA} flags, is what this process really runs
 * on: under an emulator or a hypervisor that hides features from user space the two can differ, and
 * {@code -XX:UseAVX=2} lets a user cap the choice by hand. When a witness is unavailable (not Linux, not
 * HotSpot) the other one decides.
 */
public record CpuInfo(String arch, String model, Set<String> flags, String source) {

  public CpuInfo {
    flags = Collections.unmodifiableSet(new TreeSet<>(flags));
  }

  /** AVX-512 subsets ND4J's {@code -avx512} builds use (compiled with {@code -march=skylake-avx512}). */
  static final List<String> AVX512 = List.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
  /** What the {@code -avx2} builds are compiled for ({@code -mavx -mavx2 -mfma -mf16c}, SSE4.2 below). */
  static final List<String> AVX2 = List.of("sse4_2", "avx", "avx2", "fma", "f16c");
  /** Flags worth showing in {@code laketune env}. */
  static final List<String> SHOWN = List.of("sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512cd",
      "avx512bw", "avx512dq", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile");

  /** Whether the CPU has every flag named. */
  public boolean has(String... names) {
    return flags.containsAll(Arrays.asList(names));
  }

  public boolean x86_64() {
    return arch.equals("x86_64");
  }

  /** The flags from {@link #SHOWN} this CPU has, in that order. */
  public List<String> shownFlags() {
    List<String> out = new ArrayList<>();
    for (String f : SHOWN) if (flags.contains(f)) out.add(f);
    return out;
  }

  /** This machine, read once per call (cheap: one small file and two JVM flag lookups). */
  public static CpuInfo detect() {
    String arch = normaliseArch(System.getProperty("os.arch", ""));
    String useAvx = hotspotFlag("UseAVX"), useFma = hotspotFlag("UseFMA");
    List<String> cpuinfo = List.of();
    try {
      Path p = Path.of("/proc/cpuinfo");
      if (Files.isReadable(p)) cpuinfo = Files.readAllLines(p);
    } catch (IOException | SecurityException | UnsupportedOperationException e) {
      cpuinfo = List.of();
    }
    if (cpuinfo.isEmpty()) return fromJvm(arch, useAvx, useFma);
    return parse(arch, cpuinfo).cappedBy(useAvx, useFma);
  }

  /** Parses the first processor's {@code model name} and {@code flags} lines of {@code /proc/cpuinfo}. */
  public static CpuInfo parse(String arch, List<String> cpuinfoLines) {
    String model = "unknown";
    Set<String> flags = new TreeSet<>();
    boolean haveFlags = false;
    for (String line : cpuinfoLines) {
      int colon = line.indexOf(':');
      if (colon < 0) continue;
      String key = line.substring(0, colon).trim();
      String value = line.substring(colon + 1).trim();
      if (key.equals("model name") && model.equals("unknown")) model = value;
      if ((key.equals("flags") || key.equals("Features")) && !haveFlags) {
        flags.addAll(Arrays.asList(value.toLowerCase(Locale.ROOT).split("\\s+")));
        haveFlags = true;
      }
    }
    return new CpuInfo(arch, model, flags, "/proc/cpuinfo");
  }

  /**
   * Drops what HotSpot found it cannot use: {@code UseAVX} below 3 removes AVX-512, below 2 AVX2, 0
   * every AVX; {@code UseFMA=false} removes FMA. {@code null} values (no such flag) change nothing.
   */
  public CpuInfo cappedBy(String useAvx, String useFma) {
    Set<String> capped = new TreeSet<>(flags);
    StringBuilder src = new StringBuilder(source);
    if (useAvx != null) {
      int level;
      try {
        level = Integer.parseInt(useAvx.trim());
      } catch (NumberFormatException e) {
        level = 3;
      }
      if (level < 3) capped.removeIf(f -> f.startsWith("avx512") || f.startsWith("amx"));
      if (level < 2) capped.remove("avx2");
      if (level < 1) capped.removeIf(f -> f.startsWith("avx") || f.equals("fma") || f.equals("f16c"));
      src.append(" + JVM UseAVX=").append(level);
    }
    if (useFma != null && !Boolean.parseBoolean(useFma.trim())) {
      capped.remove("fma");
      src.append(" UseFMA=false");
    }
    return new CpuInfo(arch, model, capped, src.toString());
  }

  /** Where there is no {@code /proc/cpuinfo}: the instruction sets HotSpot's level implies, nothing finer. */
  static CpuInfo fromJvm(String arch, String useAvx, String useFma) {
    Set<String> flags = new TreeSet<>();
    int level = -1;
    try {
      if (useAvx != null) level = Integer.parseInt(useAvx.trim());
    } catch (NumberFormatException e) {
      level = -1;
    }
    if (level >= 1) flags.addAll(List.of("sse4_2", "avx"));
    if (level >= 2) flags.add("avx2");
    if (level >= 2 && Boolean.parseBoolean(useFma)) flags.addAll(List.of("fma", "f16c"));
    if (level >= 3) flags.addAll(AVX512);
    return new CpuInfo(arch, "unknown", flags, useAvx == null ? "none" : "JVM UseAVX=" + level);
  }

  /** A HotSpot flag's value, or null on other JVMs or where management is unavailable. */
  static String hotspotFlag(String name) {
    try {
      return ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
          .getVMOption(name).getValue();
    } catch (RuntimeException | LinkageError e) {
      return null;
    }
  }

  /** JavaCPP's names: amd64 and x86-64 are x86_64; aarch64 is arm64. */
  static String normaliseArch(String osArch) {
    String a = osArch.toLowerCase(Locale.ROOT);
    return switch (a) {
      case "amd64", "x86_64", "x86-64", "em64t" -> "x86_64";
      case "aarch64", "arm64" -> "arm64";
      case "x86", "i386", "i486", "i586", "i686" -> "x86";
      default -> a;
    };
  }
}
