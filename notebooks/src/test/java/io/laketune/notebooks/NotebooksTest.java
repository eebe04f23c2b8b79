package io.laketune.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Every notebook runs top to bottom on real Jupyter (Debian's jupyter-nbconvert and nbclient) with
 * the laketune-java kernel that {@code notebooks/install-kernel.sh} installs — into
 * {@code target/jupyter}, nothing global — with a time limit per cell; a failing cell fails the test.
 * Copies are executed under {@code target/executed/} (the committed notebooks stay as they are) and
 * rendered to HTML beside them; then the executed notebook is read and what it must show is checked.
 *
 * <p>Without Jupyter the tests skip, saying so; with {@code LAKETUNE_REQUIRE_JUPYTER=1} (.ci/run) they
 * fail. {@code -Dlaketune.notebooks.update=true} copies the executed notebooks back over the committed
 * ones (how their saved outputs are refreshed).
 */
@Tag("integration")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NotebooksTest {
  /** Seconds a kernel may take to answer its first request (it takes 3-5 s). */
  static final int STARTUP_TIMEOUT_S = 60;

  /** Kernels {@link #everyKernelStartAnswers} starts. */
  static final int KERNEL_STARTS = 10;

  /** Seconds a cell may run (nbclient's per-cell timeout). */
  static final int CELL_TIMEOUT_S = 300;
  static final ObjectMapper JSON = new ObjectMapper();
  static final Path HOME = Path.of(System.getProperty("laketune.home", "..")).toAbsolutePath().normalize();
  static final Path TARGET = HOME.resolve("notebooks/target");
  static final Path EXECUTED = TARGET.resolve("executed");
  static final Path JUPYTER = TARGET.resolve("jupyter");

  @BeforeAll
  static void installKernel() throws Exception {
    String missing = null;
    for (String tool : List.of("jupyter-nbconvert", "python3")) {
      if (!onPath(tool)) missing = tool;
    }
    if (missing != null) {
      String why = missing + " is not on PATH: the notebooks need real Jupyter (Debian: apt-get install jupyter-nbconvert "
          + "python3-nbclient jupyter-client python3-ipykernel)";
      if ("1".equals(System.getenv("LAKETUNE_REQUIRE_JUPYTER"))) fail(why + " (LAKETUNE_REQUIRE_JUPYTER=1: required here)");
      Assumptions.abort(why);
    }
    Files.createDirectories(EXECUTED);
    run(List.of("bash", HOME.resolve("notebooks/install-kernel.sh").toString(), "--prefix", JUPYTER.toString()), HOME,
        TARGET.resolve("install-kernel.log"), 120);
    assertTrue(Files.isRegularFile(JUPYTER.resolve("kernels/laketune-java/kernel.json")), "kernel.json installed");
  }

  /**
   * A kernel that starts must answer: rapaio-jupyter-kernel 3.0.1's channel threads raced at start-up and
   * left 3 of 12 kernels deaf here (notebooks/src/main/java/.../LoopThread.java says how); with laketune's
   * LoopThread every start answers. Each start is a fresh JVM, as nbclient makes one per notebook.
   */
  @Test
  @Order(0)
  void everyKernelStartAnswers() throws Exception {
    Path dir = Files.createDirectories(TARGET.resolve("kernel-starts"));
    Path log = dir.resolve("kernel-starts.log");
    run(List.of("/usr/bin/python3", HOME.resolve("notebooks/src/test/python/kernel_starts.py").toString(),
        String.valueOf(KERNEL_STARTS), String.valueOf(STARTUP_TIMEOUT_S)), dir, log, KERNEL_STARTS * (STARTUP_TIMEOUT_S + 30L));
    assertTrue(Files.readString(log).contains(KERNEL_STARTS + " of " + KERNEL_STARTS + " starts answered"), tail(log));
  }

  @Test
  @Order(1)
  void quickstart() throws Exception {
    Notebook nb = execute("01-quickstart");
    String text = nb.text();
    requireRealModel(text);
    assertTrue(text.matches("(?s).*\\b403  ' Once'.*"), "the ids are shown against their token text: " + text);
    double[] losses = numbers(text, "per-example loss: ([0-9.]+) ([0-9.]+) ([0-9.]+)");
    for (double l : losses) assertTrue(l > 0 && l < 10, "a loss in nats per token: " + l);
    double natural = number(text, "natural story loss ([0-9.]+)"), shuffled = number(text, "shuffled words loss ([0-9.]+)");
    assertTrue(natural < shuffled, "the pretrained model finds a real story likelier than its words shuffled");
    assertTrue(nb.images() >= 1, "the losses are drawn");
  }

  @Test
  @Order(2)
  void prepareData() throws Exception {
    Notebook nb = execute("02-prepare-data");
    String text = nb.text();
    requireRealModel(text);
    assertTrue(number(text, "jsonl: ([0-9]+) train rows") > 0, text);
    assertTrue(number(text, "parquet: ([0-9]+) train rows") > 0, text);
    assertEquals(3, (int) number(text, "rejects: ([0-9]+) records"), "the three broken lines are rejected");
    assertTrue(text.contains("malformed_json") && text.contains("missing_field"), "reject reasons are shown");
    assertTrue(text.contains("\"tokenizer\""), "the manifest is shown");
    assertTrue(nb.images() >= 1, "the length histogram is drawn");
  }

  @Test
  @Order(3)
  void loraQlora() throws Exception {
    Notebook nb = execute("03-lora-qlora");
    String text = nb.text();
    requireRealModel(text);
    for (String method : List.of("lora", "qlora")) {
      double[] trainLoss = numbers(text, method + " train loss: first ([0-9.]+) last ([0-9.]+)");
      assertTrue(trainLoss[1] < trainLoss[0], method + ": the training loss falls " + trainLoss[0] + " -> " + trainLoss[1]);
      double[] val = numbers(text, method + " validation loss: base ([0-9.]+) adapter ([0-9.]+)");
      assertTrue(val[1] < val[0], method + ": the adapter beats the base on validation " + val[0] + " -> " + val[1]);
    }
    double[] merged = numbers(text, "merged model validation loss ([0-9.]+) vs adapter ([0-9.]+)");
    assertEquals(merged[1], merged[0], 1e-3, "the reloaded merged model scores as base + adapter");
    assertTrue(nb.images() >= 2, "a loss curve per method is drawn inline");
  }

  @Test
  @Order(4)
  void distributed() throws Exception {
    Notebook nb = execute("04-distributed");
    String text = nb.text();
    requireRealModel(text);
    assertTrue(text.contains("executor JVMs: 2"), "two executor processes besides the driver: " + text);
    double diff = number(text, "max loss difference 1 vs 2 workers: ([0-9.eE-]+)");
    assertTrue(diff < 1e-4, "2 workers train as 1 worker with the same global batch: " + diff);
    double[] val = numbers(text, "validation loss 1 worker ([0-9.]+), 2 workers ([0-9.]+)");
    assertEquals(val[0], val[1], 1e-4, "the same validation loss");
    assertTrue(text.contains("submit-yarn.sh") && text.contains("submit-k8s.sh"), "the YARN and Kubernetes paths are shown");
    assertTrue(nb.images() >= 1, "the sync cost is drawn");
  }

  /** In CI the shared models are there, and the notebooks must use the real model, not the demo's. */
  static void requireRealModel(String text) {
    if ("1".equals(System.getenv("LAKETUNE_REQUIRE_MODELS"))) {
      assertTrue(text.contains("model: stories260K"), "the notebook used stories260K (LAKETUNE_REQUIRE_MODELS=1)");
    }
  }

  /** An executed notebook: its text outputs and the number of (decoded, checked) PNG images. */
  record Notebook(String name, JsonNode json, String text, int images) {}

  static Notebook execute(String name) throws Exception {
    Path source = HOME.resolve("notebooks/" + name + ".ipynb");
    Path copy = EXECUTED.resolve(name + ".ipynb");
    Files.copy(source, copy, StandardCopyOption.REPLACE_EXISTING);
    long started = System.nanoTime();
    List<String> cmd = List.of("jupyter-nbconvert", "--to", "notebook", "--execute", "--inplace",
        "--ExecutePreprocessor.timeout=" + CELL_TIMEOUT_S, "--ExecutePreprocessor.startup_timeout=" + STARTUP_TIMEOUT_S,
        "--ExecutePreprocessor.kernel_name=laketune-java", copy.toString());
    run(cmd, EXECUTED, EXECUTED.resolve(name + ".log"), 1800);
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf(Locale.ROOT, "notebook %s executed in %.1f s%n", name, seconds);
    Files.writeString(EXECUTED.resolve(name + ".seconds"), String.format(Locale.ROOT, "%.1f%n", seconds));
    run(List.of("jupyter-nbconvert", "--to", "html", copy.toString()), EXECUTED, EXECUTED.resolve(name + ".html.log"), 300);
    assertTrue(Files.isRegularFile(EXECUTED.resolve(name + ".html")), "rendered to HTML");

    JsonNode nb = JSON.readTree(copy.toFile());
    assertEquals("laketune-java", nb.path("metadata").path("kernelspec").path("name").asText(), name + " runs on the laketune kernel");
    StringBuilder text = new StringBuilder();
    int images = 0, code = 0, prose = 0;
    for (JsonNode cell : nb.get("cells")) {
      if (cell.get("cell_type").asText().equals("markdown")) prose++;
      if (!cell.get("cell_type").asText().equals("code")) continue;
      code++;
      assertTrue(cell.get("execution_count").isInt(), name + ": every code cell ran: " + cell.get("source"));
      for (JsonNode out : cell.get("outputs")) {
        String type = out.get("output_type").asText();
        assertFalse(type.equals("error"), name + ": a cell failed: " + out);
        if (type.equals("stream")) text.append(joined(out.get("text")));
        JsonNode data = out.get("data");
        if (data == null) continue;
        if (data.has("text/plain")) text.append(joined(data.get("text/plain"))).append('\n');
        if (data.has("text/html")) text.append(joined(data.get("text/html"))).append('\n');
        if (data.has("image/png")) {
          byte[] png = Base64.getMimeDecoder().decode(joined(data.get("image/png")));
          assertEquals(0x89, png[0] & 0xff, name + ": a PNG signature");
          assertEquals("PNG", new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII));
          BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
          assertNotNull(img, name + ": the image decodes");
          assertTrue(img.getWidth() >= 300 && img.getHeight() >= 200, name + ": a readable chart, " + img.getWidth() + "x" + img.getHeight());
          assertTrue(distinctColours(img) > 3, name + ": the image is not blank");
          images++;
        }
      }
    }
    assertTrue(prose >= code / 2, name + ": prose between the cells (" + prose + " text cells, " + code + " code cells)");
    if (Boolean.getBoolean("laketune.notebooks.update")) Files.copy(copy, source, StandardCopyOption.REPLACE_EXISTING);
    return new Notebook(name, nb, text.toString(), images);
  }

  static String joined(JsonNode textOrLines) {
    if (textOrLines.isTextual()) return textOrLines.asText();
    StringBuilder sb = new StringBuilder();
    textOrLines.forEach(l -> sb.append(l.asText()));
    return sb.toString();
  }

  static int distinctColours(BufferedImage img) {
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (int y = 0; y < img.getHeight(); y += 7) for (int x = 0; x < img.getWidth(); x += 7) seen.add(img.getRGB(x, y));
    return seen.size();
  }

  static double number(String text, String regex) {
    return numbers(text, regex)[0];
  }

  /** The groups of the last match of {@code regex} in the notebook's output, as numbers. */
  static double[] numbers(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    double[] last = null;
    while (m.find()) {
      last = new double[m.groupCount()];
      for (int i = 0; i < last.length; i++) last[i] = Double.parseDouble(m.group(i + 1));
    }
    if (last == null) fail("the notebook's output has no line matching /" + regex + "/:\n" + text);
    return last;
  }

  static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, tool))) return true;
    }
    return false;
  }

  /** Runs a command with Jupyter's folders under target/ (nothing global read or written); fails with its log. */
  static void run(List<String> cmd, Path dir, Path log, long timeoutS) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd)).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("JUPYTER_PATH", JUPYTER.toString());
    env.put("JUPYTER_DATA_DIR", JUPYTER.toString());
    env.put("JUPYTER_CONFIG_DIR", JUPYTER.resolve("config").toString());
    env.put("JUPYTER_RUNTIME_DIR", JUPYTER.resolve("runtime").toString());
    env.put("IPYTHONDIR", JUPYTER.resolve("ipython").toString());
    env.put("OMP_NUM_THREADS", "2");
    Process p = pb.start();
    if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      fail(String.join(" ", cmd) + " ran past " + timeoutS + " s; log: " + log + "\n" + tail(log));
    }
    if (p.exitValue() != 0) fail(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "); log: " + log + "\n" + tail(log));
  }

  static String tail(Path log) throws Exception {
    String s = Files.readString(log);
    return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
  }
}
