package io.laketune.prep.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README shows the DataFrame example exactly as the build compiles it. */
class ReadmeExampleTest {

  @Test
  void theReadmeHoldsTheCompiledExample() throws Exception {
    String source = Files.readString(
        Path.of("src/test/java/io/laketune/prep/examples/PrepareDataFrameExample.java"));
    String begin = "  // README example: begin\n";
    String end = "  // README example: end\n";
    String code = source.substring(source.indexOf(begin) + begin.length(), source.indexOf(end));
    // Unindented by the two spaces of the class body, as the README shows it.
    String shown = code.lines().map(l -> l.startsWith("  ") ? l.substring(2) : l)
        .reduce("", (a, b) -> a + b + "\n");
    String readme = Files.readString(Path.of("../README.md"));
    assertTrue(readme.contains("```java\n" + shown + "```\n"),
        "README.md must show the code between the markers of PrepareDataFrameExample.java, unindented by two"
            + " spaces, in a ```java block:\n" + shown);
  }
}
