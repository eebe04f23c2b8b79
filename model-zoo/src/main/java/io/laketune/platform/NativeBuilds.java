package io.laketune.platform;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Chooses ND4J's native CPU build for this machine before ND4J loads: laketune's one entry point for
 * the native side. Call {@link #init()} before the first ND4J class in any program that uses laketune
 * (the CLI, Spark tasks, notebooks and laketune's own classes that touch ND4J first do); a program that
 * forgets is still covered, because model-zoo registers {@link NativeBuildHook} with ND4J's backend
 * discovery, which runs before ND4J loads any native code.
 *
 * <p>JavaCPP, which loads ND4J's libraries, takes the build from the system property
 * {@code org.bytedeco.javacpp.platform.extension}, read once, when it first loads any library. Unset,
 * it loads the first build it finds on the class path, which may be one this CPU cannot execute (the
 * JVM then dies with SIGILL). {@link #init()} sets it to the fastest build present that this CPU runs.
 * A value set by the user wins (with a warning when this CPU lacks what that build needs).
 *
 * <p>Each JVM decides for itself from its own CPU, so Spark executors on different hardware each load
 * what suits them, as long as the builds they need were shipped (see cluster-configs/README.md).
 */
public final class NativeBuilds {

  public static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";
  /** Set where no runnable build exists: JavaCPP then fails to find a library (a Java error), never SIGILL. */
  static final String NONE = "-laketune-no-runnable-build";

  /**
   * Fastest first, by measurement: {@code bin/bench-native-builds} (laketune bench, full / LoRA / QLoRA,
   * best of interleaved rounds; the README's native-build table). AVX2-only CPU (2-vCPU AMD EPYC, LoRA):
   * onednn-avx2 296 tokens/s, plain 205, avx2 177, onednn 170.
   */
  static final List<NativeBuild> AVX2_ORDER = List.of(
      NativeBuild.ONEDNN_AVX2, NativeBuild.PLAIN, NativeBuild.AVX2, NativeBuild.ONEDNN);
  /**
   * AVX-512 CPU (2-vCPU Xeon, Sapphire Rapids; full / LoRA / QLoRA, best of 6 rounds): onednn-avx2
   * 700 / 692 / 640 tokens/s, onednn-avx512 668 / 653 / 600, onednn 622 / 681 / 605, avx512 170 / 219 / 180,
   * plain 163 / 167 / 212, avx2 163 / 195 / 218. oneDNN picks its own kernels (AVX-512 included) at run
   * time in every build; libnd4j's own loops gain nothing from 512-bit code here.
   */
  static final List<NativeBuild> AVX512_ORDER = List.of(
      NativeBuild.ONEDNN_AVX2, NativeBuild.ONEDNN_AVX512, NativeBuild.ONEDNN, NativeBuild.AVX512,
      NativeBuild.PLAIN, NativeBuild.AVX2);
  /** Without AVX2 only the generic builds run. */
  static final List<NativeBuild> GENERIC_ORDER = List.of(NativeBuild.PLAIN, NativeBuild.ONEDNN);

  private static Selection selection;
  private static boolean reported;

  private NativeBuilds() {}

  /**
   * The decision and why, with the CPU and builds it was made from. {@code build} is null when
   * laketune left the choice to JavaCPP (a user value it does not know, another platform) or when
   * nothing can run ({@code problem} then says what to do).
   */
  public record Selection(NativeBuild build, String extension, String reason, String warning, String problem,
      CpuInfo cpu, String platform, Set<NativeBuild> available) {

    /** One line for logs and {@code laketune env}. */
    public String summary() {
      String name = build != null ? build.label() : extension == null ? "(ND4J's default)" : "'" + extension + "'";
      return problem != null ? "none: " + problem : name + " (" + reason + ")";
    }
  }

  /**
   * Chooses and sets the build, once per JVM; later calls return the same decision. Throws
   * {@link NativeBuildException} with one sentence when no build on the class path can run here, and
   * prints a warning once on stderr when a build set by hand does not suit this CPU.
   */
  public static synchronized Selection init() {
    Selection s = initQuietly();
    if (s.problem() != null) throw new NativeBuildException(s.problem());
    reportOnce();
    return s;
  }

  /**
   * Chooses and sets the build like {@link #init()}, never throwing and printing nothing: for code
   * that runs whether or not ND4J is used (static initialisers, commands without native code).
   */
  public static synchronized Selection initQuietly() {
    if (selection == null) {
      String user = System.getProperty(PROPERTY);
      selection = choose(CpuInfo.detect(), platform(), onClassPath(platform()), user);
      if (selection.extension() != null && user == null) System.setProperty(PROPERTY, selection.extension());
    }
    return selection;
  }

  /** Prints the decision's problem or warning on stderr, once per JVM (ND4J is about to load). */
  static synchronized void reportOnce() {
    Selection s = initQuietly();
    if (reported) return;
    reported = true;
    if (s.problem() != null) System.err.println("laketune: " + s.problem());
    if (s.warning() != null) System.err.println("laketune: " + s.warning());
  }

  /** The decision made by {@link #init()}, or null before it ran. */
  public static synchronized Selection current() {
    return selection;
  }

  /**
   * The decision for a CPU, a platform, the builds present and the property's current value; pure,
   * so that tests can cover CPUs this machine does not have.
   */
  public static Selection choose(CpuInfo cpu, String platform, Set<NativeBuild> available, String userValue) {
    if (userValue != null) {
      NativeBuild b = NativeBuild.fromExtension(userValue);
      String reason = "set by hand: -D" + PROPERTY + "=" + userValue;
      String warning = null;
      if (b != null && cpu.x86_64() && !b.runsOn(cpu)) {
        warning = PROPERTY + "=" + userValue + " was set by hand, but this CPU (" + cpu.model() + ") lacks "
            + String.join(", ", b.missingOn(cpu)) + " that the " + b.label()
            + " build needs: expect the JVM to crash (SIGILL); unset it to let laketune choose";
      } else if (b != null && !available.contains(b)) {
        warning = PROPERTY + "=" + userValue + " was set by hand, but nd4j-native's " + b.classifier(platform)
            + " jar is not on the class path";
      }
      return new Selection(b, userValue, reason, warning, null, cpu, platform, available);
    }
    if (available.isEmpty()) {
      if (!hasNd4jNativeClasses()) {
        return new Selection(null, null, "nd4j-native is not on the class path (CUDA backend?): left to ND4J", null, null,
            cpu, platform, available);
      }
      String problem = "no ND4J native build for " + platform + " is on the class path (laketune bundles linux-x86_64's):"
          + " put org.nd4j:nd4j-native:1.0.0-M2.1:" + platform + " on it";
      return new Selection(null, null, "no build for this platform", null, problem, cpu, platform, available);
    }
    if (!cpu.x86_64()) {
      // ND4J ships one build per non-x86 platform; JavaCPP finds it without help.
      return new Selection(null, null, "not x86-64: ND4J's " + platform + " build", null, null, cpu, platform, available);
    }
    List<NativeBuild> order = cpu.has(NativeBuild.ONEDNN_AVX512.requires().toArray(String[]::new)) ? AVX512_ORDER
        : cpu.has(NativeBuild.ONEDNN_AVX2.requires().toArray(String[]::new)) ? AVX2_ORDER : GENERIC_ORDER;
    String level = order == AVX512_ORDER ? "AVX-512" : order == AVX2_ORDER ? "AVX2, no AVX-512" : "no AVX2";
    for (NativeBuild b : order) {
      if (available.contains(b) && b.runsOn(cpu)) {
        String reason = "CPU has " + level + "; fastest of the builds on the class path that it runs";
        if (b != order.get(0)) reason += " (" + order.get(0).label() + " would be faster: not on the class path)";
        return new Selection(b, b.extension(), reason, null, null, cpu, platform, available);
      }
    }
    List<String> labels = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (NativeBuild b : available) {
      labels.add(b.label());
      for (String f : b.missingOn(cpu)) if (!missing.contains(f)) missing.add(f);
    }
    String problem = "this CPU (" + cpu.model() + ") lacks " + String.join(", ", missing)
        + " that the ND4J builds on the class path (" + String.join(", ", labels) + ") need: put org.nd4j:nd4j-native:1.0.0-M2.1:"
        + NativeBuild.PLAIN.classifier(platform) + " (runs on every x86-64 CPU) on the class path"
        + " (cluster-configs: NATIVE_BUILDS=all)";
    return new Selection(null, NONE, "no runnable build", null, problem, cpu, platform, available);
  }

  /** JavaCPP's platform name for this JVM: {@code linux-x86_64}, {@code macosx-arm64}, ... */
  public static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String name = os.startsWith("linux") ? "linux" : os.startsWith("mac") || os.startsWith("darwin") ? "macosx"
        : os.startsWith("windows") ? "windows" : os.replaceAll("\\W", "");
    return name + "-" + CpuInfo.normaliseArch(System.getProperty("os.arch", ""));
  }

  /** The nd4j-native builds for {@code platform} whose JNI library is on this class path. */
  public static Set<NativeBuild> onClassPath(String platform) {
    Set<NativeBuild> found = EnumSet.noneOf(NativeBuild.class);
    for (NativeBuild b : NativeBuild.values()) {
      if (resource(b.classifier(platform)) != null) found.add(b);
    }
    return found;
  }

  /**
   * The build JavaCPP actually loaded, read from its table of loaded libraries; null before ND4J's
   * native code is loaded or when it is not one of these builds.
   */
  public static NativeBuild loaded() {
    Map<String, String> libs;
    try {
      libs = org.bytedeco.javacpp.Loader.getLoadedLibraries();
    } catch (LinkageError e) {
      return null;
    }
    String p = platform();
    for (String path : libs.values()) {
      if (path == null || !path.contains("jnind4jcpu")) continue;
      for (NativeBuild b : NativeBuild.values()) {
        if (path.contains("/" + b.classifier(p) + "/") || path.contains("\\" + b.classifier(p) + "\\")) return b;
      }
    }
    return null;
  }

  private static java.net.URL resource(String classifier) {
    String lib = System.mapLibraryName("jnind4jcpu");
    String path = "org/nd4j/linalg/cpu/nativecpu/bindings/" + classifier + "/" + lib;
    ClassLoader cl = NativeBuilds.class.getClassLoader();
    java.net.URL url = cl == null ? null : cl.getResource(path);
    if (url == null && Thread.currentThread().getContextClassLoader() != null) {
      url = Thread.currentThread().getContextClassLoader().getResource(path);
    }
    return url;
  }

  private static boolean hasNd4jNativeClasses() {
    ClassLoader cl = NativeBuilds.class.getClassLoader();
    return cl != null && cl.getResource("org/nd4j/linalg/cpu/nativecpu/CpuBackend.class") != null;
  }
}
