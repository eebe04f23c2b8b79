package io.laketune.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.io.DType;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.nn.Param;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The demo's base model: a small Llama-architecture checkpoint (hidden 64, 2 layers, 4 heads, tied
 * embeddings) over the real GPT-2 tokenizer, so that prepare, train, eval and generate read it like
 * any Hugging Face checkpoint. Its weights are random (seeded), not pretrained: the demo shows the
 * pipeline, not a useful model. About 3.4 M parameters, 3.2 M of them the 50257 x 64 embedding.
 */
public final class DemoModel {
  public static final long SEED = 20240601L;
  static final double EMBEDDING_STD = 0.1;
  static final String RESOURCES = "/io/laketune/demo/gpt2/";

  private DemoModel() {}

  /** config.json as transformers writes it for LlamaForCausalLM. */
  static ObjectNode config() {
    ObjectNode c = new ObjectMapper().createObjectNode();
    c.putArray("architectures").add("LlamaForCausalLM");
    c.put("model_type", "llama");
    c.put("vocab_size", 50257);
    c.put("hidden_size", 64);
    c.put("intermediate_size", 172);
    c.put("num_hidden_layers", 2);
    c.put("num_attention_heads", 4);
    c.put("num_key_value_heads", 4);
    c.put("hidden_act", "silu");
    c.put("max_position_embeddings", 1024);
    c.put("rms_norm_eps", 1e-5);
    c.put("rope_theta", 10000.0);
    c.put("tie_word_embeddings", true);
    c.put("initializer_range", 0.02);
    c.put("bos_token_id", 50256);
    c.put("eos_token_id", 50256);
    c.put("torch_dtype", "bfloat16");
    return c;
  }

  /**
   * Writes the checkpoint into {@code dir} (config.json, model.safetensors in bf16, tokenizer.json,
   * tokenizer_config.json). Weights are drawn as transformers initialises Llama, normal(0, 0.02)
   * for the linear layers and ones for the RMSNorm scales, except the tied embedding: with 0.02 the
   * logits (embedding . RMS-normalised hidden state of norm 8) stay within about 1.3 of uniform
   * whatever the hidden state, so a LoRA over frozen random weights could hardly move the loss;
   * normal(0, 0.1) leaves it room to learn which tokens are frequent.
   */
  public static void write(Path dir) throws IOException {
    ObjectNode json = config();
    ModelConfig cfg = ModelConfig.parse(json, "the demo model's config.json");
    CausalLm model = HfModels.create(cfg, HfModels.Options.fullTraining());
    Nd4j.getRandom().setSeed(SEED);
    for (Param p : model.params().all().values()) {
      if (p.shape().length == 1) {
        p.set(Nd4j.ones(DataType.FLOAT, p.shape()));
      } else {
        double std = p.name().equals("model.embed_tokens.weight") ? EMBEDDING_STD : json.get("initializer_range").asDouble();
        p.set(Nd4j.randn(DataType.FLOAT, p.shape()).muli(std));
      }
    }
    Path tmp = Files.createTempDirectory("laketune-demo-tokenizer-");
    try {
      Path tokenizer = tmp.resolve("tokenizer.json"), tokenizerConfig = tmp.resolve("tokenizer_config.json");
      try (InputStream in = new GZIPInputStream(resource("tokenizer.json.gz"))) {
        Files.copy(in, tokenizer, StandardCopyOption.REPLACE_EXISTING);
      }
      try (InputStream in = resource("tokenizer_config.json")) {
        Files.copy(in, tokenizerConfig, StandardCopyOption.REPLACE_EXISTING);
      }
      HfModels.save(model, dir, DType.BF16, 5_000_000_000L, List.of(tokenizer, tokenizerConfig));
    } finally {
      Files.deleteIfExists(tmp.resolve("tokenizer.json"));
      Files.deleteIfExists(tmp.resolve("tokenizer_config.json"));
      Files.deleteIfExists(tmp);
    }
  }

  static InputStream resource(String name) {
    InputStream in = DemoModel.class.getResourceAsStream(RESOURCES + name);
    if (in == null) throw new IllegalStateException("the jar lacks the resource " + RESOURCES + name + "; rebuild laketune");
    return in;
  }
}
