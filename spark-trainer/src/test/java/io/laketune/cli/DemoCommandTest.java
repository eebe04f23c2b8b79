package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** laketune demo end to end (prepare, LoRA training on local Spark, eval, generate) with few steps. */
@Tag("integration")
class DemoCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();

  /** Runs the CLI and returns {exit code, stdout, stderr}. */
  private static String[] cli(String... args) {
    EvalCommandTest.Run r = EvalCommandTest.cli(args);
    return new String[] {Integer.toString(r.code()), r.out(), r.err()};
  }

  @Test
  void demoRunsThePipelineAndTheAdapterLowersTheValidationLoss(@TempDir Path tmp) throws Exception {
    Path dir = tmp.resolve("demo");
    String[] run = cli("demo", "--workdir", dir.toString(), "--steps", "8");
    assertEquals("0", run[0], run[1] + run[2]);

    for (String f : List.of("model/config.json", "model/model.safetensors", "model/tokenizer.json",
        "model/tokenizer_config.json", "sotu.jsonl", "prepare.conf", "train.conf", "data/manifest.json",
        "run/final/adapter/adapter_config.json", "run/final/adapter/adapter_model.safetensors", "run/metrics.jsonl",
        "run/loss.png", "validation.jsonl", "eval-base.json", "eval-adapter.json")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f + " is written");
    }
    JsonNode config = JSON.readTree(dir.resolve("model/config.json").toFile());
    assertEquals("llama", config.get("model_type").asText());
    try (Tokenizer tok = Tokenizer.load(dir.resolve("model"))) {
      assertEquals(config.get("vocab_size").asInt(), tok.vocabSize(), "the model's vocabulary is the GPT-2 tokenizer's");
    }

    double before = JSON.readTree(dir.resolve("eval-base.json").toFile()).get("loss").asDouble();
    double after = JSON.readTree(dir.resolve("eval-adapter.json").toFile()).get("loss").asDouble();
    assertTrue(after < before - 0.05, "validation loss with the adapter " + after + " vs base " + before);
    List<JsonNode> evals = Files.readAllLines(dir.resolve("run/metrics.jsonl")).stream().map(DemoCommandTest::json)
        .filter(e -> e.has("eval_loss")).toList();
    assertEquals(after, evals.get(evals.size() - 1).get("eval_loss").asDouble(), 1e-4,
        "eval of the split's documents one by one equals the trainer's packed-row evaluation");

    String out = run[1];
    assertTrue(out.contains("validation loss  "), out);
    assertTrue(out.contains("bin/laketune export --model"), out);
    assertTrue(out.contains("--- base + adapter:"), out);

    String[] otherSteps = cli("demo", "--workdir", dir.toString(), "--steps", "9");
    assertEquals("1", otherSteps[0]);
    assertTrue(otherSteps[2].contains("pass --steps 8 to resume it"), otherSteps[2]);
  }

  @Test
  void refusesADirectoryThatIsNotADemosOwn(@TempDir Path tmp) throws Exception {
    Files.writeString(tmp.resolve("notes.txt"), "mine");
    String[] run = cli("demo", "--workdir", tmp.toString());
    assertEquals("1", run[0]);
    assertEquals("laketune demo: " + tmp + " exists and is not a laketune demo directory; pass --workdir with a new "
        + "directory or one a previous demo made", run[2].strip());
    assertEquals(List.of(tmp.resolve("notes.txt")), Files.list(tmp).toList(), "nothing is written there");
  }

  private static JsonNode json(String line) {
    try {
      return JSON.readTree(line);
    } catch (Exception e) {
      throw new IllegalStateException(line, e);
    }
  }
}
