package io.laketune.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The real llama.cpp, through node-llama-cpp 3.21.1's prebuilt CPU binaries driven by the committed
 * script {@code model-zoo/src/test/node/llama-cpp/llama_cpp_client.mjs} in a child {@code node}
 * process. Install it with {@code model-zoo/src/test/node/llama-cpp/install.sh} (into
 * model-zoo/target/llama-cpp); point elsewhere with {@code -Dlaketune.llamacpp.dir=DIR} or
 * {@code LAKETUNE_LLAMA_CPP_DIR=DIR} (the folder holding node_modules/).
 *
 * <p>When node or the package is missing the test is skipped with the reason; with
 * {@code LAKETUNE_REQUIRE_LLAMA_CPP=1} (for CI) it fails instead. Also used by spark-trainer's
 * tests through model-zoo's test jar.
 */
public final class LlamaCpp {
  public static final String PROPERTY = "laketune.llamacpp.dir";
  public static final String ENV = "LAKETUNE_LLAMA_CPP_DIR";
  public static final String REQUIRE_ENV = "LAKETUNE_REQUIRE_LLAMA_CPP";
  public static final String VERSION = "3.21.1";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path script;
  private final Path modules;

  private LlamaCpp(Path script, Path modules) {
    this.script = script;
    this.modules = modules;
  }

  /** The installed client, or the test is skipped (failed under LAKETUNE_REQUIRE_LLAMA_CPP=1) with the reason. */
  public static LlamaCpp require() {
    Path root = projectRoot();
    Path script = root.resolve("model-zoo/src/test/node/llama-cpp/llama_cpp_client.mjs");
    String configured = System.getProperty(PROPERTY);
    if (configured == null || configured.isBlank()) configured = System.getenv(ENV);
    Path dir = configured != null && !configured.isBlank() ? Path.of(configured) : root.resolve("model-zoo/target/llama-cpp");
    Path modules = dir.resolve("node_modules");
    Path pkg = modules.resolve("node-llama-cpp/package.json");
    String problem = null;
    if (!Files.isRegularFile(script)) {
      problem = "the llama.cpp client script " + script + " is missing";
    } else if (!nodeRuns()) {
      problem = "node is not on the PATH (the llama.cpp checks run node-llama-cpp " + VERSION + ")";
    } else if (!Files.isRegularFile(pkg)) {
      problem = "node-llama-cpp is not installed in " + dir + "; run model-zoo/src/test/node/llama-cpp/install.sh"
          + " or set -D" + PROPERTY + "=DIR / " + ENV + "=DIR";
    } else {
      try {
        String v = JSON.readTree(pkg.toFile()).path("version").asText();
        if (!v.equals(VERSION)) problem = dir + " holds node-llama-cpp " + v + ", not " + VERSION + "; rerun install.sh";
      } catch (IOException e) {
        problem = pkg + " is unreadable: " + e.getMessage();
      }
    }
    if (problem != null) {
      if ("1".equals(System.getenv(REQUIRE_ENV)) || Boolean.getBoolean("laketune.require.llamacpp")) {
        Assertions.fail(problem + " (" + REQUIRE_ENV + "=1: required here)");
      }
      Assumptions.abort(problem);
    }
    return new LlamaCpp(script, modules);
  }

  private static boolean nodeRuns() {
    try {
      Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** A request for one model file (see the script's header for the fields). */
  public static final class Request {
    final ObjectNode json = JSON.createObjectNode();

    public Request(Path model) {
      json.put("model", model.toAbsolutePath().toString());
      json.put("contextSize", 512);
      json.put("threads", 1);
      json.put("kvCacheType", "F32");
    }

    public Request lora(Path adapter, double scale) {
      ArrayNode a = json.withArray("lora");
      a.addObject().put("path", adapter.toAbsolutePath().toString()).put("scale", scale);
      return this;
    }

    /** llama.cpp's KV cache type: F32 (exact) or its default F16. */
    public Request kvCache(String type) {
      json.put("kvCacheType", type);
      return this;
    }

    public Request contextSize(int n) {
      json.put("contextSize", n);
      return this;
    }

    /** Tokenize {@code text}, special-token strings parsed (llama_tokenize parse_special), no BOS added. */
    public Request tokenize(String text) {
      json.withArray("tokenize").addObject().put("text", text).put("special", true);
      return this;
    }

    /** Greedy generation of {@code n} tokens after {@code prompt} (ids as given, nothing prepended). */
    public Request generate(int[] prompt, int n) {
      ObjectNode g = json.withArray("generate").addObject();
      ArrayNode p = g.putArray("prompt");
      for (int id : prompt) p.add(id);
      g.put("maxTokens", n);
      return this;
    }
  }

  /** What llama.cpp answered. */
  public record Result(JsonNode json) {
    public List<int[]> tokenized() {
      return ids(json.path("tokenize"));
    }

    public List<int[]> generated() {
      return ids(json.path("generate"));
    }

    /** Whether llama.cpp prepends BOS when it tokenizes for generation (tokenizer.ggml.add_bos_token). */
    public boolean addsBos() {
      return json.path("model").path("shouldPrependBos").asBoolean();
    }

    public String llamaCppRelease() {
      return json.path("llamaCpp").path("release").asText();
    }

    private static List<int[]> ids(JsonNode arrays) {
      List<int[]> out = new ArrayList<>();
      for (JsonNode a : arrays) {
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = a.get(i).asInt();
        out.add(ids);
      }
      return out;
    }
  }

  /** Runs one request in a fresh node process (a few seconds; most of it loading the binaries). */
  public Result run(Request request) throws IOException, InterruptedException {
    Path file = Files.createTempFile("llama-cpp-request", ".json");
    Path err = Files.createTempFile("llama-cpp-stderr", ".txt");
    try {
      Files.writeString(file, JSON.writeValueAsString(request.json));
      Process p = new ProcessBuilder("node", script.toString(), modules.toString(), file.toString())
          .redirectError(err.toFile()).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(600, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("llama.cpp client timed out on " + request.json.path("model").asText());
      }
      if (p.exitValue() != 0) {
        String log = Files.readString(err, StandardCharsets.UTF_8);
        throw new IOException("llama.cpp client failed (exit " + p.exitValue() + ") on " + request.json.path("model").asText()
            + ":\n" + log.substring(Math.max(0, log.length() - 4000)));
      }
      return new Result(JSON.readTree(new String(out, StandardCharsets.UTF_8)));
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(err);
    }
  }

  /** The directory holding the root pom.xml (Maven runs a module's tests in the module's folder). */
  static Path projectRoot() {
    Path p = Path.of("").toAbsolutePath();
    for (Path q = p; q != null; q = q.getParent()) {
      if (Files.isDirectory(q.resolve("model-zoo")) && Files.isRegularFile(q.resolve("pom.xml"))) return q;
    }
    return p;
  }
}
