package io.laketune.demo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The demo's dataset: 438 passages of State of the Union addresses (1790–2021, public domain) as
 * {"prompt", "completion"} lines. The prompt names the address and gives two sentences, the
 * completion is the next two. spark-trainer/src/main/node/make_sotu_jsonl.js regenerates it.
 */
public final class DemoDataset {
  public static final String FILE_NAME = "sotu.jsonl";

  private DemoDataset() {}

  /** Copies the bundled JSONL to {@code file}. */
  public static void write(Path file) throws IOException {
    try (InputStream in = DemoModel.class.getResourceAsStream("/io/laketune/demo/" + FILE_NAME)) {
      if (in == null) throw new IllegalStateException("the jar lacks the resource /io/laketune/demo/" + FILE_NAME + "; rebuild laketune");
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
