package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.DType;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.nn.Param;
import io.laketune.tokenizer.TokenizerFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The whole pipeline through the CLI: prepare JSONL with the real GPT-2 tokenizer, train a LoRA
 * adapter on a small model of that vocabulary, evaluate base and adapter on the prepared validation
 * split (a Spark job), and hit a bad key with a one-line error.
 */
@Tag("integration")
class TrainCommandTest {
  @TempDir Path dir;

  /** A tiny Llama-shaped model over GPT-2's vocabulary, seeded random weights, with the tokenizer files. */
  static Path tinyModel(Path dir) throws Exception {
    String json = """
        {"model_type":"llama","vocab_size":50257,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,
         "num_attention_heads":2,"num_key_value_heads":2,"tie_word_embeddings":true,"eos_token_id":50256,
         "max_position_embeddings":512}""";
    CausalLm m = HfModels.create(ModelConfig.parse(new ObjectMapper().readTree(json), "tiny"), HfModels.Options.inference());
    Nd4j.getRandom().setSeed(3);
    for (Param p : m.params().all().values()) p.set(Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.1).addi(p.shape().length == 1 ? 1 : 0));
    Path tok = TokenizerFixtures.modelDir("gpt2");
    Path model = dir.resolve("model");
    HfModels.save(m, model, DType.F32, Long.MAX_VALUE, List.of(tok.resolve("tokenizer.json"), tok.resolve("tokenizer_config.json")));
    return model;
  }

  @Test
  void prepareTrainEvaluate() throws Exception {
    Path model = tinyModel(dir);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      lines.add("{\"text\": \"The " + (i % 7) + " ships sailed north, and the " + (i % 5) + " ships sailed south again.\"}");
    }
    Files.write(dir.resolve("corpus.jsonl"), lines);
    Files.writeString(dir.resolve("prep.conf"), "laketune.prep { input = \"" + dir.resolve("corpus.jsonl") + "\", output = \""
        + dir.resolve("data") + "\", tokenizer = \"" + model + "\", format.type = text, length.seq_len = 32, "
        + "split.validation_fraction = 0.2 }");
    EvalCommandTest.Run prep = EvalCommandTest.cli("prepare", "--config", dir.resolve("prep.conf").toString());
    assertEquals(0, prep.code(), prep.err());

    Files.writeString(dir.resolve("train.conf"), "laketune.train { model = \"" + model + "\", data = \"" + dir.resolve("data")
        + "\", output = \"" + dir.resolve("run") + "\", method = lora, lora { r = 4, alpha = 8, target_modules = all-linear, "
        + "modules_to_save = [embed_tokens] }, optimizer.lr = 0.02, workers = 2, batch.micro_batch_size = 2, max_steps = 8, "
        + "eval.every_steps = 4 }");
    EvalCommandTest.Run train = EvalCommandTest.cli("train", "--config", dir.resolve("train.conf").toString());
    assertEquals(0, train.code(), train.err());
    assertTrue(train.out().contains("8 steps"), train.out());
    Path adapter = dir.resolve("run/final/adapter");
    assertTrue(Files.exists(adapter.resolve("adapter_model.safetensors")));

    JsonNode base = json(EvalCommandTest.cli("eval", "--model", model.toString(), "--data", dir.resolve("data").toString()));
    JsonNode tuned = json(EvalCommandTest.cli("eval", "--model", model.toString(), "--data", dir.resolve("data").toString(),
        "--adapter", adapter.toString()));
    assertEquals("validation", tuned.get("split").asText());
    assertEquals(base.get("tokens").asLong(), tuned.get("tokens").asLong());
    assertTrue(tuned.get("loss").asDouble() < base.get("loss").asDouble(),
        "training lowers the held-out loss: " + base.get("loss") + " -> " + tuned.get("loss"));

    // the same main class under spark-submit (SparkSubmit's own main, client mode): the master comes from it
    Path jar = dir.resolve("app.jar");
    try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), new java.util.jar.Manifest())) {
      out.flush();
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g"));
    for (String opt : System.getProperty("laketune.test.sparkJavaOptions", "").split(" ")) if (!opt.isBlank()) cmd.add(opt);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.apache.spark.deploy.SparkSubmit",
        "--master", "local[2]", "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
        "--class", "io.laketune.cli.Laketune", jar.toString(),
        "train", "--config", dir.resolve("train.conf").toString(), "--set", "output=\"" + dir.resolve("submitted") + "\"",
        "--set", "max_steps=2"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("submit.log").toFile());
    pb.environment().put("OPT_OUT_TRACKING", "true");
    Process p = pb.start();
    assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), "spark-submit finished");
    assertEquals(0, p.exitValue(), Files.readString(dir.resolve("submit.log")));
    assertTrue(Files.readString(dir.resolve("submit.log")).contains("laketune train: 2 steps"));
    assertTrue(Files.exists(dir.resolve("submitted/final/adapter/adapter_model.safetensors")));

    EvalCommandTest.Run bad = EvalCommandTest.cli("train", "--config", dir.resolve("train.conf").toString(), "--set", "optimiser.lr=1");
    assertEquals(1, bad.code());
    assertTrue(bad.err().contains("laketune.train.optimiser.lr") && bad.err().contains("did you mean optimizer.lr"), bad.err());
  }

  static JsonNode json(EvalCommandTest.Run r) throws Exception {
    assertEquals(0, r.code(), r.err());
    return new ObjectMapper().readTree(r.out().substring(r.out().indexOf('{')));
  }
}
