package io.laketune.model;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Real pretrained models the workplace provides outside the repository (never copied into it):
 * {@code ../shared/models/} relative to the project root. Point tests elsewhere with
 * {@code -Dlaketune.models.dir=DIR} or {@code LAKETUNE_MODELS_DIR=DIR} (the folder that holds
 * {@code stories260K/}).
 *
 * <p>A missing model skips the test with the reason and the path looked at; with
 * {@code LAKETUNE_REQUIRE_MODELS=1} (set by {@code .ci/run}, where the models are always present)
 * it fails instead, so CI never passes by skipping.
 */
public final class SharedModels {

  public static final String PROPERTY = "laketune.models.dir";
  public static final String ENV = "LAKETUNE_MODELS_DIR";

  private SharedModels() {}

  /** {@code stories260K/}: llama2.c's {@code stories260K.bin}, {@code tok512.bin} and the HF directory {@code hf/}. */
  public static Path stories260K() {
    return require("stories260K", "hf/config.json", "hf/model.safetensors", "hf/tokenizer.json", "stories260K.bin", "tok512.bin");
  }

  /** {@code stories260K/hf}: the Hugging Face LlamaForCausalLM directory. */
  public static Path stories260KHf() {
    return stories260K().resolve("hf");
  }

  /** The folder that holds the shared models, as configured or found from the working directory. */
  public static Path modelsDir() {
    String configured = System.getProperty(PROPERTY);
    if (configured == null || configured.isBlank()) configured = System.getenv(ENV);
    if (configured != null && !configured.isBlank()) return Path.of(configured).toAbsolutePath().normalize();
    Path root = projectRoot();
    return root.resolve("../shared/models").toAbsolutePath().normalize();
  }

  private static Path require(String name, String... files) {
    Path dir = modelsDir().resolve(name);
    for (String f : files) {
      Path p = dir.resolve(f);
      if (!Files.isRegularFile(p)) {
        String why = "the shared model " + name + " is not at " + dir + " (" + f + " missing); set -D" + PROPERTY
            + "=DIR or " + ENV + "=DIR to the folder that holds " + name + "/";
        if ("1".equals(System.getenv("LAKETUNE_REQUIRE_MODELS")) || Boolean.getBoolean("laketune.require.models")) {
          Assertions.fail(why + " (LAKETUNE_REQUIRE_MODELS=1: required here)");
        }
        Assumptions.abort(why);
      }
    }
    return dir;
  }

  /** The directory holding the root pom.xml: Maven runs a module's tests in the module's folder. */
  private static Path projectRoot() {
    Path p = Path.of("").toAbsolutePath();
    for (Path q = p; q != null; q = q.getParent()) {
      if (Files.isDirectory(q.resolve(".ci")) && Files.isRegularFile(q.resolve("pom.xml"))) return q;
    }
    return p;
  }
}
