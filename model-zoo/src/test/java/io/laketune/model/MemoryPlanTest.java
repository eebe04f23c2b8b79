package io.laketune.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The memory plan against real steps: each case runs two training steps (forward, backward, AdamW)
 * of the benchmark model in a child JVM ({@link StepMemoryProbe}) and holds the plan's prediction of
 * what training adds to a built model (workspaces, expansion buffers, AdamW moments, the compute
 * runtime) within 15% of what the steps really added to the process's resident memory: the peak
 * (VmHWM) after the steps less the resident memory once the model was built. The model's own
 * arrays (weights, adapters, gradients) are held to the plan byte for byte. The child's heap is
 * fixed and pre-touched (-Xms = -Xmx, AlwaysPreTouch), so garbage collection timing adds nothing to
 * the difference, and its only tenant is this one step, so other jobs on the machine do not either.
 * Every workspace's largest cycle must also fit the size the plan reserved for it (the steps never
 * spill) and the reserved total may exceed what was used by at most 15%.
 */
@Tag("integration")
class MemoryPlanTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest(name = "{0} seq {1} batch {2} checkpointing {3}")
  @CsvSource({
      "FULL, 512, 1, false",
      "FULL, 1024, 1, true",
      "LORA, 512, 2, false",
      "LORA, 1024, 1, true",
      "LORA, 2048, 1, true",
      "QLORA, 1024, 1, true",
      "QLORA, 512, 2, false"})
  void predictionHoldsForARealStep(String method, int seq, int batch, boolean checkpointing) throws Exception {
    JsonNode p = probe(method, seq, batch, checkpointing);
    long used = p.get("hwm").asLong() - p.get("rss_model").asLong();
    long predicted = p.get("predicted_off_heap").asLong();
    for (String resident : List.of("frozen weights", "trainable weights", "adapters", "gradients")) {
      predicted -= p.get(resident).asLong();
    }
    System.out.printf("memory plan %s seq %d batch %d checkpointing %s: predicted %d MB, measured %d MB (%+.1f%%)%n",
        method, seq, batch, checkpointing, predicted >> 20, used >> 20, 100.0 * (predicted - used) / used);
    assertTrue(Math.abs(predicted - used) <= 0.15 * used,
        "predicted " + (predicted >> 20) + " MB off-heap, the steps used " + (used >> 20) + " MB: " + p);
    assertEquals(p.get("frozen weights").asLong(), p.get("frozen_resident").asLong(), "frozen weight bytes");
    assertEquals(p.get("trainable weights").asLong() + p.get("adapters").asLong(), p.get("trainable_resident").asLong(),
        "trainable bytes");
    assertEquals(p.get("gradients").asLong(), p.get("trainable_resident").asLong(), "gradient bytes");
    long reserved = 0, cycles = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = p.get("workspaces").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> w = it.next();
      long cycle = w.getValue().get("max_cycle").asLong(), want = w.getValue().get("predicted").asLong();
      assertTrue(cycle <= want, "workspace " + w.getKey() + " used " + cycle + " bytes a cycle, the plan reserved " + want);
      assertEquals(want, w.getValue().get("size").asLong(), "workspace " + w.getKey() + " grew past its reservation");
      reserved += want;
      cycles += cycle;
    }
    assertTrue(reserved <= 1.15 * cycles, "the plan reserved " + reserved + " bytes of workspaces, the steps used " + cycles);
  }

  static JsonNode probe(String method, int seq, int batch, boolean checkpointing) throws Exception {
    Path log = Files.createTempFile("memory-probe", ".log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-Dorg.nd4j.log.initialization=false",
        "-Dorg.bytedeco.javacpp.maxbytes=0", "-Dorg.bytedeco.javacpp.maxphysicalbytes=0",
        "-cp", System.getProperty("java.class.path"), StepMemoryProbe.class.getName(),
        method, String.valueOf(seq), String.valueOf(batch), String.valueOf(checkpointing), "2"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "2");
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    Process proc = pb.start();
    if (!proc.waitFor(600, TimeUnit.SECONDS)) {
      proc.destroyForcibly();
      throw new AssertionError("memory probe did not finish in 600 s");
    }
    String out = Files.readString(log, StandardCharsets.UTF_8);
    Files.delete(log);
    assertEquals(0, proc.exitValue(), "memory probe failed:\n" + out);
    for (String line : out.split("\n")) if (line.startsWith("probe: ")) return JSON.readTree(line.substring(7));
    throw new AssertionError("memory probe printed no probe line:\n" + out);
  }
}
