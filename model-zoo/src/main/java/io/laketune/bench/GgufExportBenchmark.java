package io.laketune.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.gguf.GgufDtype;
import io.laketune.gguf.GgufExport;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.nn.Param;
import java.nio.file.Files;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * GGUF export time and file size per dtype for a model in memory: an HF checkpoint directory given
 * on the command line (e.g. stories260K) and the 34M-parameter benchmark model of {@link
 * TrainStepBenchmark} (random weights, no tokenizer). Time is the best of {@code repeats} writes of
 * the file (conversion, q/k reordering, quantisation, writing and fsync), excluding model loading.
 *
 * <p>Run: {@code java -cp <laketune class path> io.laketune.bench.GgufExportBenchmark [HF_DIR] [repeats]}.
 */
public final class GgufExportBenchmark {
  private GgufExportBenchmark() {}

  public static void main(String[] args) throws Exception {
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path out = Files.createTempDirectory("laketune-gguf-bench");
    try {
      System.out.println("| model | parameters | dtype | export s | file bytes | MB |");
      System.out.println("|---|---|---|---|---|---|");
      if (args.length > 0) {
        Path dir = Path.of(args[0]);
        CausalLm m = HfModels.load(dir, HfModels.Options.inference());
        Path name = dir.toAbsolutePath().normalize();
        // stories260K/hf is labelled stories260K
        if (name.getFileName().toString().equals("hf") && name.getParent() != null) name = name.getParent();
        run(name.getFileName().toString(), m, dir, out, repeats);
      }
      run("34M benchmark model", benchmarkModel(), out, out, repeats);
    } finally {
      try (var files = Files.list(out)) {
        for (Path f : (Iterable<Path>) files::iterator) Files.delete(f);
      }
      Files.delete(out);
    }
  }

  /** TrainStepBenchmark's model: Llama-shaped, hidden 512, 8 layers, vocab 8192, untied; N(0, 0.02²) weights. */
  static CausalLm benchmarkModel() throws Exception {
    String json = """
        {"model_type":"llama","vocab_size":8192,"hidden_size":512,"intermediate_size":1408,
         "num_hidden_layers":8,"num_attention_heads":8,"num_key_value_heads":8,"rms_norm_eps":1e-5,
         "tie_word_embeddings":false,"max_position_embeddings":4096}""";
    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(json), "benchmark config");
    CausalLm model = HfModels.create(cfg, HfModels.Options.inference());
    Nd4j.getRandom().setSeed(1);
    for (String name : HfModels.parameterShapes(cfg).keySet()) {
      Param p = model.params().get(name);
      INDArray v = Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.02);
      if (p.shape().length == 1) v.addi(1.0);
      p.set(v);
    }
    return model;
  }

  static void run(String label, CausalLm model, Path tokenizerDir, Path out, int repeats) throws Exception {
    for (GgufDtype dtype : GgufDtype.values()) {
      double best = Double.MAX_VALUE;
      long bytes = 0;
      for (int r = 0; r < repeats; r++) {
        Path file = out.resolve("model-" + dtype + "-" + r + ".gguf");
        long t0 = System.nanoTime();
        bytes = GgufExport.model(model, tokenizerDir, label, dtype, file).bytes();
        best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        Files.delete(file);
      }
      System.out.printf("| %s | %,d | %s | %.3f | %,d | %.2f |%n", label, model.params().totalCount(),
          dtype.name().toLowerCase(java.util.Locale.ROOT), best, bytes, bytes / 1e6);
    }
  }
}
