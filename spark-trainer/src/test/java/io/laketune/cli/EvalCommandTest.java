package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.model.Batch;
import io.laketune.model.CausalLm;
import io.laketune.model.Fixtures;
import io.laketune.model.HfModels;
import io.laketune.model.Loss;
import io.laketune.model.TokenizedExample;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code laketune eval} and {@code generate} end to end through the CLI entry point. */
class EvalCommandTest {
  @TempDir Path tmp;

  static Path fixture(String name) {
    return Fixtures.dir(name);
  }

  record Run(int code, String out, String err) {}

  /** The CLI as a user runs it, stdout and stderr captured (UTF-8): the one runner the CLI tests share. */
  static Run cli(String... args) {
    PrintStream oldOut = System.out, oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
      int code = Laketune.run(args);
      return new Run(code, out.toString(java.nio.charset.StandardCharsets.UTF_8),
          err.toString(java.nio.charset.StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void evalIsTheTokenWeightedMeanOverTheFile() throws Exception {
    Path model = fixture("llama3");
    Path data = Fixtures.file("eval-sample.jsonl");
    Path output = tmp.resolve("out/eval.json");
    Run r = cli("eval", "--model", model.toString(), "--data", data.toString(), "--output", output.toString(),
        "--batch-size", "4");
    assertEquals(0, r.code, r.err);
    JsonNode json = new ObjectMapper().readTree(output.toFile());

    // Independent computation: one example at a time, summed by hand.
    CausalLm lm = HfModels.load(model, HfModels.Options.inference());
    ObjectMapper m = new ObjectMapper();
    Loss total = new Loss(0, 0);
    for (String line : Files.readAllLines(data)) {
      JsonNode n = m.readTree(line);
      int[] ids = m.convertValue(n.get("input_ids"), int[].class);
      int[] labels = n.has("labels") ? m.convertValue(n.get("labels"), int[].class) : ids.clone();
      total = total.plus(lm.loss(TokenizedExample.padRight(List.of(new TokenizedExample(ids, labels)))));
    }
    assertEquals(total.count(), json.get("tokens").asLong());
    assertEquals(total.mean(), json.get("loss").asDouble(), 1e-5);
    assertEquals(Math.exp(total.mean()), json.get("perplexity").asDouble(), 1e-4 * Math.exp(total.mean()));
  }

  @Test
  void badLineIsOneSentenceNamingFileAndLine() throws Exception {
    Path data = tmp.resolve("bad.jsonl");
    Files.writeString(data, "{\"input_ids\":[1,2,3]}\n{\"input_ids\":[1,\"x\"]}\n");
    Run r = cli("eval", "--model", fixture("llama").toString(), "--data", data.toString());
    assertEquals(1, r.code);
    assertTrue(r.err.contains("bad.jsonl line 2") && r.err.contains("not an integer"), r.err);
    assertEquals(1, r.err.strip().lines().count(), "one line, no stack trace: " + r.err);

    Files.writeString(data, "{\"input_ids\":[1,2,999]}\n");
    Run big = cli("eval", "--model", fixture("llama").toString(), "--data", data.toString());
    assertTrue(big.err.contains("line 1") && big.err.contains("outside the model's vocabulary"), big.err);

    Run missing = cli("eval", "--model", tmp.resolve("nope").toString(), "--data", data.toString());
    assertEquals(1, missing.code);
    assertTrue(missing.err.contains("nope"), missing.err);
  }

  @Test
  void generateGreedyWithPromptIdsMatchesReference() throws Exception {
    // gen.prompt / gen.greedy of the llama fixture, written by make_fixtures.py
    try (var g = io.laketune.io.SafetensorsReader.open(fixture("llama").resolve("golden.safetensors"))) {
      var prompt = g.read("gen.prompt", org.nd4j.linalg.api.buffer.DataType.INT64).toLongVector();
      var greedy = g.read("gen.greedy", org.nd4j.linalg.api.buffer.DataType.INT64).toLongVector();
      List<String> p = new ArrayList<>();
      for (long x : prompt) p.add(Long.toString(x));
      Run r = cli("generate", "--model", fixture("llama").toString(), "--prompt-ids", String.join(",", p),
          "--max-new-tokens", Integer.toString(greedy.length));
      assertEquals(0, r.code, r.err);
      List<String> want = new ArrayList<>();
      for (long x : greedy) want.add(Long.toString(x));
      assertEquals(String.join(",", want), r.out.strip());
    }
  }
}
