package io.laketune.prep.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.laketune.prep.TestConfigs;
import io.laketune.prep.config.PrepConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import io.laketune.tokenizer.TokenizerFixtures;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectTest {

  @Test
  void inputLinesShowTrainedSpansTokensAndRejects(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("in.jsonl");
    Files.writeString(input,
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}]}\n"
            + "{\"messages\": 3}\n");
    PrepConfig config = TestConfigs.config(TokenizerFixtures.modelDir("qwen3").toString(),
        "format.type = chat, input = \"" + input.toUri() + "\", output = \"" + dir.resolve("out").toUri() + "\"");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Inspect.run(config, 5, "train", new InspectView.Options(false, true), new Configuration(),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        + "⟦<think>\n\n</think>\n\nHello!<|im_end|>⟧\n"), out);
    assertTrue(out.contains("'<|im_end|>'"), out);
    assertTrue(out.contains("line 2: rejected (wrong_type"), out);
  }

  @Test
  void quoteEscapesControlCharacters() {
    assertEquals("'a\\nb\\t\\'\\u0001'", InspectView.quote("a\nb\t'\u0001"));
  }
}
