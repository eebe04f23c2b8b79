package io.laketune.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.io.DType;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import io.laketune.nn.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Small HF model directories with seeded random weights over real tokenizer files: enough to check
 * that llama.cpp reads the architecture, tokenizer and layout laketune writes. Norm weights are
 * 1 + noise, q/k projections N(0, 0.4²), every other parameter N(0, 0.1²).
 */
final class RandomModels {
  private RandomModels() {}

  /** Llama 3.1-style: Llama 3 tokenizer, llama3 RoPE scaling, GQA, q/k/v/o and MLP biases. */
  static final String LLAMA3 = """
      {"model_type":"llama","architectures":["LlamaForCausalLM"],"vocab_size":128256,"hidden_size":128,
       "intermediate_size":96,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
       "rms_norm_eps":1e-5,"rope_theta":500000.0,"max_position_embeddings":131072,
       "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
                       "original_max_position_embeddings":8192},
       "attention_bias":true,"mlp_bias":true,"tie_word_embeddings":true,
       "bos_token_id":128000,"eos_token_id":128001}""";

  /** Qwen2 architecture over the Qwen3 tokenizer: q/k/v biases, tied embeddings, vocab padded past the tokenizer. */
  static final String QWEN2 = """
      {"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],"vocab_size":151936,"hidden_size":64,
       "intermediate_size":96,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
       "rms_norm_eps":1e-6,"rope_theta":1000000.0,"max_position_embeddings":4096,"tie_word_embeddings":true,
       "bos_token_id":151643,"eos_token_id":151645}""";

  /** GPT-2 over the GPT-2 tokenizer. */
  static final String GPT2 = """
      {"model_type":"gpt2","architectures":["GPT2LMHeadModel"],"vocab_size":50257,"n_embd":64,"n_layer":2,
       "n_head":4,"n_positions":256,"n_ctx":256,"layer_norm_epsilon":1e-5,"bos_token_id":50256,"eos_token_id":50256}""";

  /** Mistral (one key/value head, untied head, linear RoPE scaling) over a SentencePiece-style tokenizer. */
  static final String MISTRAL = """
      {"model_type":"mistral","architectures":["MistralForCausalLM"],"vocab_size":512,"hidden_size":64,
       "intermediate_size":96,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":1,
       "rms_norm_eps":1e-5,"rope_theta":1000000.0,"rope_scaling":{"type":"linear","factor":2.0},
       "max_position_embeddings":4096,"sliding_window":null,"tie_word_embeddings":false,
       "bos_token_id":1,"eos_token_id":2}""";

  /** Writes a checkpoint of {@code configJson} with random weights and the tokenizer files of {@code tokenizerDir}. */
  static Path write(Path dir, String configJson, Path tokenizerDir, long seed) throws IOException {
    ModelConfig cfg = ModelConfig.parse(new ObjectMapper().readTree(configJson), "test config");
    CausalLm m = HfModels.create(cfg, HfModels.Options.inference());
    Nd4j.getRandom().setSeed(seed);
    for (String name : HfModels.parameterShapes(cfg).keySet()) {
      Param p = m.params().get(name);
      // larger q/k weights make attention sharp, so that positions (RoPE) visibly steer it
      double std = name.contains("q_proj.weight") || name.contains("k_proj.weight") ? 0.4 : 0.1;
      INDArray v = Nd4j.randn(DataType.FLOAT, p.shape()).muli(std);
      if (name.endsWith("norm.weight") || name.contains(".ln_") && name.endsWith(".weight")) v.addi(1.0);
      p.set(v);
    }
    List<Path> side = new ArrayList<>();
    for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
      if (Files.isRegularFile(tokenizerDir.resolve(f))) side.add(tokenizerDir.resolve(f));
    }
    HfModels.save(m, dir, DType.F32, 5_000_000_000L, side);
    return dir;
  }
}
