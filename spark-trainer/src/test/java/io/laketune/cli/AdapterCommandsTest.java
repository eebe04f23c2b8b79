package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.model.Fixtures;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import io.laketune.peft.LoraTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** eval/generate with --adapter, and export --merge, through the CLI. */
class AdapterCommandsTest {
  @TempDir Path tmp;

  Path adapter(String name, long seed) throws Exception {
    LoraModel m = LoraModel.create(Fixtures.dir("llama"), LoraConfig.of(4, 8, List.of("q_proj", "v_proj", "up_proj")),
        DataType.FLOAT, seed);
    Nd4j.getRandom().setSeed(seed);
    for (LoraTarget t : m.targets()) {
      m.model().params().get(t.bName()).set(Nd4j.randn(DataType.FLOAT, m.model().params().get(t.bName()).shape()).muli(0.2));
    }
    Path dir = tmp.resolve(name);
    m.save(dir);
    return dir;
  }

  static JsonNode json(EvalCommandTest.Run r) throws Exception {
    assertEquals(0, r.code(), r.err());
    return new ObjectMapper().readTree(r.out());
  }

  @Test
  void evalSeveralAdaptersThenExportTheMergedModel() throws Exception {
    Path a = adapter("a", 1), b = adapter("b", 2);
    String model = Fixtures.dir("llama").toString(), data = Fixtures.file("eval-sample.jsonl").toString();
    JsonNode base = json(EvalCommandTest.cli("eval", "--model", model, "--data", data));
    JsonNode both = json(EvalCommandTest.cli("eval", "--model", model, "--data", data, "--adapter", a.toString(),
        "--adapter", b.toString()));
    JsonNode ra = both.get("results").get(0), rb = both.get("results").get(1);
    assertEquals(a.toString(), ra.get("adapter").asText());
    assertTrue(ra.get("loss").asDouble() != base.get("loss").asDouble(), "an adapter changes the loss");
    assertTrue(ra.get("loss").asDouble() != rb.get("loss").asDouble(), "different adapters, different losses");
    JsonNode onlyA = json(EvalCommandTest.cli("eval", "--model", model, "--data", data, "--adapter", a.toString()));
    assertEquals(ra.get("loss").asDouble(), onlyA.get("loss").asDouble(), 1e-7, "shared base gives the same result");

    Path merged = tmp.resolve("merged");
    EvalCommandTest.Run exp = EvalCommandTest.cli("export", "--model", model, "--adapter", a.toString(), "--merge",
        "--output", merged.toString());
    assertEquals(0, exp.code(), exp.err());
    assertTrue(Files.exists(merged.resolve("model.safetensors")) && Files.exists(merged.resolve("config.json")));
    JsonNode fromMerged = json(EvalCommandTest.cli("eval", "--model", merged.toString(), "--data", data));
    assertEquals(onlyA.get("loss").asDouble(), fromMerged.get("loss").asDouble(), 1e-5, "merged = base + adapter");

    EvalCommandTest.Run again = EvalCommandTest.cli("export", "--model", model, "--adapter", a.toString(), "--merge",
        "--output", merged.toString());
    assertEquals(1, again.code());
    assertTrue(again.err().contains("already exists"), again.err());
  }

  @Test
  void evalOverA4BitBase() throws Exception {
    String model = Fixtures.dir("llama").toString(), data = Fixtures.file("eval-sample.jsonl").toString();
    JsonNode full = json(EvalCommandTest.cli("eval", "--model", model, "--data", data));
    JsonNode nf4 = json(EvalCommandTest.cli("eval", "--model", model, "--data", data, "--quantize", "nf4", "--double-quant"));
    double a = full.get("loss").asDouble(), b = nf4.get("loss").asDouble();
    assertTrue(a != b && Math.abs(a - b) < 0.1 * a, "4-bit rounding moves the loss a little: " + a + " vs " + b);
    EvalCommandTest.Run bad = EvalCommandTest.cli("eval", "--model", model, "--data", data, "--quantize", "int3");
    assertEquals(1, bad.code());
    assertTrue(bad.err().contains("--quantize must be nf4 or fp4"), bad.err());
  }

  @Test
  void generateWithAnAdapter() throws Exception {
    Path a = adapter("g", 3);
    EvalCommandTest.Run r = EvalCommandTest.cli("generate", "--model", Fixtures.dir("llama").toString(), "--adapter",
        a.toString(), "--prompt-ids", "1,2,3", "--max-new-tokens", "5");
    assertEquals(0, r.code(), r.err());
    assertEquals(5, r.out().strip().split(",").length, r.out());
  }
}
