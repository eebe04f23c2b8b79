package io.laketune.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** CPU flag strings (as /proc/cpuinfo writes them) to the native build laketune loads. */
class NativeBuildsTest {

  /** A 4th-generation Xeon (Sapphire Rapids) under KVM: AVX-512 with BF16 and FP16. */
  static final String SAPPHIRE_RAPIDS = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush"
      + " mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid"
      + " tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave"
      + " avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch cpuid_fault fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2"
      + " erms invpcid rtm avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl"
      + " xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 arat avx512vbmi umip avx512_vbmi2 gfni vaes vpclmulqdq"
      + " avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid cldemote movdiri movdir64b fsrm serialize tsxldtrk avx512_fp16"
      + " arch_capabilities";
  /** A 2-vCPU AMD EPYC (Zen 3) under KVM: AVX2 and FMA, no AVX-512 — the machine issue 8 was found on. */
  static final String EPYC_ZEN3 = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx"
      + " fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid"
      + " extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx"
      + " f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw topoext"
      + " invpcid_single ssbd ibrs ibpb stibp vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap"
      + " clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves clzero xsaveerptr rdpru wbnoinvd arat npt nrip_save umip"
      + " pku ospke vaes vpclmulqdq rdpid fsrm";
  /** A Westmere-era Xeon: SSE4.2, no AVX. */
  static final String WESTMERE = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts"
      + " acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts rep_good"
      + " nopl xtopology nonstop_tsc aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 cx16 xtpr pdcm"
      + " pcid dca sse4_1 sse4_2 popcnt aes lahf_lm";
  /** Haswell without F16C reported (a hypervisor that masks it): AVX2 alone is not enough for the -avx2 builds. */
  static final String AVX2_NO_F16C = "fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx avx2 fma bmi1 bmi2";

  /** What the default build ships: the fastest build measured on AVX2 and AVX-512 CPUs, and the fallback. */
  static final Set<NativeBuild> SHIPPED = EnumSet.of(NativeBuild.PLAIN, NativeBuild.ONEDNN_AVX2);
  /** A class path without onednn-avx2, where the AVX-512 and AVX2 orders differ. */
  static final Set<NativeBuild> WITH_AVX512 = EnumSet.of(NativeBuild.PLAIN, NativeBuild.ONEDNN_AVX512);
  static final Set<NativeBuild> ALL = EnumSet.allOf(NativeBuild.class);

  static CpuInfo cpu(String flags) {
    return CpuInfo.parse("x86_64", List.of("processor\t: 0", "model name\t: test CPU", "flags\t\t: " + flags,
        "processor\t: 1", "flags\t\t: fpu"));
  }

  static NativeBuild chosen(CpuInfo cpu, Set<NativeBuild> available) {
    NativeBuilds.Selection s = NativeBuilds.choose(cpu, "linux-x86_64", available, null);
    assertNull(s.problem(), s.summary());
    assertEquals(s.build().extension(), s.extension(), "the property value set is the build's extension");
    return s.build();
  }

  @Test
  void avx512CpuGetsTheFastestBuildMeasuredThere() {
    // measured on Sapphire Rapids: onednn-avx2 > onednn-avx512 > onednn > the builds without oneDNN
    assertEquals(NativeBuild.ONEDNN_AVX2, chosen(cpu(SAPPHIRE_RAPIDS), SHIPPED));
    assertEquals(NativeBuild.ONEDNN_AVX2, chosen(cpu(SAPPHIRE_RAPIDS), ALL));
    assertEquals(NativeBuild.ONEDNN_AVX512, chosen(cpu(SAPPHIRE_RAPIDS), WITH_AVX512));
    assertEquals(NativeBuild.AVX512, chosen(cpu(SAPPHIRE_RAPIDS), EnumSet.of(NativeBuild.AVX512, NativeBuild.PLAIN, NativeBuild.AVX2)));
    assertTrue(NativeBuilds.choose(cpu(SAPPHIRE_RAPIDS), "linux-x86_64", SHIPPED, null).reason().contains("AVX-512"));
  }

  @Test
  void avx2OnlyCpuNeverGetsAnAvx512Build() {
    CpuInfo epyc = cpu(EPYC_ZEN3);
    assertEquals(NativeBuild.ONEDNN_AVX2, chosen(epyc, SHIPPED));
    assertEquals(NativeBuild.ONEDNN_AVX2, chosen(epyc, ALL));
    // measured order on that CPU: onednn-avx2 296 > plain 205 > avx2 177 > onednn 170 LoRA tokens/s
    assertEquals(NativeBuild.PLAIN, chosen(epyc, EnumSet.of(NativeBuild.PLAIN, NativeBuild.AVX2, NativeBuild.ONEDNN_AVX512)));
    assertEquals(NativeBuild.PLAIN, chosen(epyc, WITH_AVX512));
    assertEquals(NativeBuild.AVX2, chosen(epyc, EnumSet.of(NativeBuild.AVX2, NativeBuild.ONEDNN, NativeBuild.AVX512)));
    assertFalse(NativeBuild.ONEDNN_AVX512.runsOn(epyc));
    assertEquals(List.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"), NativeBuild.AVX512.missingOn(epyc));
  }

  @Test
  void cpuWithoutAvx2GetsAGenericBuild() {
    CpuInfo old = cpu(WESTMERE);
    assertEquals(NativeBuild.PLAIN, chosen(old, SHIPPED));
    assertEquals(NativeBuild.PLAIN, chosen(old, ALL));
    assertEquals(NativeBuild.ONEDNN, chosen(old, EnumSet.of(NativeBuild.ONEDNN, NativeBuild.AVX2)));
    assertEquals(NativeBuild.PLAIN, chosen(cpu(AVX2_NO_F16C), SHIPPED), "the -avx2 builds are compiled with -mf16c");
  }

  @Test
  void theJvmsOwnCpuidCapsWhatTheKernelLists() {
    // An emulator, a hypervisor hiding AVX-512 from user space, or -XX:UseAVX=2 by hand.
    CpuInfo capped = cpu(SAPPHIRE_RAPIDS).cappedBy("2", "true");
    assertFalse(capped.has("avx512f"));
    assertTrue(capped.has("avx2", "fma"));
    assertEquals(NativeBuild.ONEDNN_AVX2, chosen(capped, SHIPPED));
    assertEquals(NativeBuild.PLAIN, chosen(capped, WITH_AVX512), "no AVX-512 build for a JVM that cannot use it");
    assertEquals(NativeBuild.PLAIN, chosen(cpu(SAPPHIRE_RAPIDS).cappedBy("1", "true"), SHIPPED));
    assertEquals(NativeBuild.PLAIN, chosen(cpu(EPYC_ZEN3).cappedBy("2", "false"), SHIPPED), "no FMA: no -avx2 build");
    assertEquals(NativeBuild.ONEDNN_AVX512, chosen(cpu(SAPPHIRE_RAPIDS).cappedBy("3", "true"), WITH_AVX512));
    assertEquals(NativeBuild.ONEDNN_AVX512, chosen(cpu(SAPPHIRE_RAPIDS).cappedBy(null, null), WITH_AVX512), "no HotSpot: kernel only");
    // Without /proc/cpuinfo the JVM's level is all there is.
    assertEquals(NativeBuild.ONEDNN_AVX2, chosen(CpuInfo.fromJvm("x86_64", "2", "true"), SHIPPED));
    assertEquals(NativeBuild.PLAIN, chosen(CpuInfo.fromJvm("x86_64", null, null), SHIPPED));
  }

  @Test
  void onlyUnrunnableBuildsIsOneSentenceNotACrash() {
    NativeBuilds.Selection s = NativeBuilds.choose(cpu(EPYC_ZEN3), "linux-x86_64", EnumSet.of(NativeBuild.ONEDNN_AVX512), null);
    assertNull(s.build());
    assertEquals(NativeBuilds.NONE, s.extension(), "JavaCPP then finds no library: a Java error, never SIGILL");
    assertTrue(s.problem().contains("lacks avx512f") && s.problem().contains("onednn-avx512")
        && s.problem().contains("org.nd4j:nd4j-native:1.0.0-M2.1:linux-x86_64 "), s.problem());
    assertFalse(s.problem().contains("\n"));
  }

  @Test
  void aPropertySetByHandWins() {
    NativeBuilds.Selection s = NativeBuilds.choose(cpu(SAPPHIRE_RAPIDS), "linux-x86_64", SHIPPED, "-onednn-avx2");
    assertEquals(NativeBuild.ONEDNN_AVX2, s.build());
    assertEquals("-onednn-avx2", s.extension());
    assertTrue(s.reason().contains("set by hand"));
    assertNull(s.warning());
    NativeBuilds.Selection plain = NativeBuilds.choose(cpu(SAPPHIRE_RAPIDS), "linux-x86_64", SHIPPED, "");
    assertEquals(NativeBuild.PLAIN, plain.build());
    // wins even when it cannot work here, with a warning naming what is missing
    NativeBuilds.Selection bad = NativeBuilds.choose(cpu(EPYC_ZEN3), "linux-x86_64", SHIPPED, "-onednn-avx512");
    assertEquals(NativeBuild.ONEDNN_AVX512, bad.build());
    assertTrue(bad.warning().contains("lacks avx512f") && bad.warning().contains("SIGILL"), bad.warning());
    NativeBuilds.Selection absent = NativeBuilds.choose(cpu(SAPPHIRE_RAPIDS), "linux-x86_64", SHIPPED, "-avx512");
    assertTrue(absent.warning().contains("linux-x86_64-avx512 jar is not on the class path"), absent.warning());
    NativeBuilds.Selection unknown = NativeBuilds.choose(cpu(SAPPHIRE_RAPIDS), "linux-x86_64", SHIPPED, "-custom");
    assertNull(unknown.build());
    assertEquals("-custom", unknown.extension());
  }

  @Test
  void otherPlatformsAreLeftToJavaCppOrNamedClearly() {
    CpuInfo arm = CpuInfo.parse("arm64", List.of("Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics"));
    NativeBuilds.Selection withBuild = NativeBuilds.choose(arm, "linux-arm64", EnumSet.of(NativeBuild.PLAIN), null);
    assertNull(withBuild.problem());
    assertNull(withBuild.extension(), "the property stays unset");
    NativeBuilds.Selection without = NativeBuilds.choose(arm, "linux-arm64", EnumSet.noneOf(NativeBuild.class), null);
    assertTrue(without.problem().contains("linux-arm64") && without.problem().contains("nd4j-native:1.0.0-M2.1:linux-arm64"),
        without.problem());
  }

  @Test
  void flagsAndArchitectureAreReadLikeJavaCpp() {
    assertEquals("x86_64", CpuInfo.normaliseArch("amd64"));
    assertEquals("arm64", CpuInfo.normaliseArch("aarch64"));
    CpuInfo c = cpu(SAPPHIRE_RAPIDS);
    assertEquals("test CPU", c.model());
    assertTrue(c.shownFlags().containsAll(List.of("avx2", "avx512f", "avx512_bf16")));
    assertFalse(c.has("amx_tile"));
    assertEquals(NativeBuild.ONEDNN_AVX2, NativeBuild.fromExtension("onednn-avx2"));
    assertEquals(NativeBuild.PLAIN, NativeBuild.fromExtension("plain"));
    assertEquals("linux-x86_64-onednn-avx512", NativeBuild.ONEDNN_AVX512.classifier("linux-x86_64"));
  }

  @Test
  void thisMachineChoosesABuildItRunsAndDescribesIt() {
    NativeBuilds.Selection s = NativeBuilds.initQuietly();
    CpuInfo here = CpuInfo.detect();
    assertTrue(s.available().containsAll(SHIPPED), "the default build ships plain and onednn-avx2: " + s.available());
    assertTrue(s.build().runsOn(here), s.summary());
    assertEquals(s.extension(), System.getProperty(NativeBuilds.PROPERTY));
    System.out.println("this machine: " + here.model() + " [" + String.join(" ", here.shownFlags()) + "] -> " + s.summary());
  }
}
