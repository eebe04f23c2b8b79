package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.tokenizer.TokenizerFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** laketune prepare and laketune inspect end to end through the CLI, Spark in local mode. */
@Tag("integration")
class PrepareCommandTest {

  /** Runs the CLI and returns {exit code, stdout, stderr}. */
  private static String[] cli(String... args) {
    EvalCommandTest.Run r = EvalCommandTest.cli(args);
    return new String[] {Integer.toString(r.code()), r.out(), r.err()};
  }

  @Test
  void prepareThenInspect(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("chats.jsonl");
    Files.writeString(input,
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}]}\n"
            + "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"}]}\n");
    Path run = dir.resolve("run.conf");
    Files.writeString(run, "laketune.prep {\n"
        + "  input = \"" + input.toUri() + "\"\n"
        + "  output = \"" + dir.resolve("data").toUri() + "\"\n"
        + "  tokenizer = \"" + TokenizerFixtures.modelDir("llama3") + "\"\n"
        + "  format.type = chat\n"
        + "  length.seq_len = 128\n"
        + "}\n");

    String[] before = cli("inspect", "--config", run.toString(), "--n", "1");
    assertEquals("0", before[0], before[2]);
    assertTrue(before[1].contains("is not prepared yet"), before[1]);
    assertTrue(before[1].contains("⟦Hello!<|eot_id|>⟧"), before[1]);

    String[] prepared = cli("prepare", "--config", run.toString(), "--master", "local[2]", "--set", "progress_seconds=0");
    assertEquals("0", prepared[0], prepared[2]);
    assertTrue(prepared[1].contains("records read 2: kept 2"), prepared[1]);
    assertTrue(Files.exists(dir.resolve("data/manifest.json")));

    String[] after = cli("inspect", "--config", run.toString(), "--n", "1");
    assertEquals("0", after[0], after[2]);
    assertTrue(after[1].contains("train row 0 of train/shard-00000.parquet"), after[1]);
    assertTrue(after[1].contains("document 2 of 2"), after[1]);
    assertTrue(after[1].contains("128009"), "the token table shows <|eot_id|>'s id");

    String[] again = cli("prepare", "--config", run.toString(), "--master", "local[2]");
    assertEquals("1", again[0]);
    assertTrue(again[2].startsWith("laketune prepare: laketune.prep.output: "), again[2]);
    assertEquals(1, again[2].strip().lines().count(), again[2]);

    String[] badKey = cli("prepare", "--config", run.toString(), "--set", "pack.mod=greedy");
    assertEquals("1", badKey[0]);
    assertTrue(badKey[2].contains("Unknown key laketune.prep.pack.mod"), badKey[2]);
  }
}
