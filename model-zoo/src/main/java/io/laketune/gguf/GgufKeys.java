package io.laketune.gguf;

/**
 * GGUF metadata key names with llama.cpp's meaning (gguf-py's constants.Keys); "{arch}" keys are
 * built with {@link #arch}.
 */
public final class GgufKeys {
  private GgufKeys() {}

  public static final String ARCHITECTURE = "general.architecture";
  public static final String TYPE = "general.type";
  public static final String NAME = "general.name";
  public static final String FILE_TYPE = "general.file_type";
  public static final String QUANTIZATION_VERSION = "general.quantization_version";

  public static final String VOCAB_SIZE = "vocab_size";
  public static final String CONTEXT_LENGTH = "context_length";
  public static final String EMBEDDING_LENGTH = "embedding_length";
  public static final String FEED_FORWARD_LENGTH = "feed_forward_length";
  public static final String BLOCK_COUNT = "block_count";
  public static final String HEAD_COUNT = "attention.head_count";
  public static final String HEAD_COUNT_KV = "attention.head_count_kv";
  public static final String KEY_LENGTH = "attention.key_length";
  public static final String VALUE_LENGTH = "attention.value_length";
  public static final String LAYERNORM_EPS = "attention.layer_norm_epsilon";
  public static final String LAYERNORM_RMS_EPS = "attention.layer_norm_rms_epsilon";
  public static final String ROPE_DIMENSION_COUNT = "rope.dimension_count";
  public static final String ROPE_FREQ_BASE = "rope.freq_base";
  public static final String ROPE_SCALING_TYPE = "rope.scaling.type";
  public static final String ROPE_SCALING_FACTOR = "rope.scaling.factor";

  public static final String TOKENIZER_MODEL = "tokenizer.ggml.model";
  public static final String TOKENIZER_PRE = "tokenizer.ggml.pre";
  public static final String TOKENS = "tokenizer.ggml.tokens";
  public static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
  public static final String SCORES = "tokenizer.ggml.scores";
  public static final String MERGES = "tokenizer.ggml.merges";
  public static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
  public static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
  public static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";
  public static final String CHAT_TEMPLATE = "tokenizer.chat_template";

  public static final String ADAPTER_TYPE = "adapter.type";
  public static final String ADAPTER_LORA_ALPHA = "adapter.lora.alpha";

  /** general.type of a model and of an adapter. */
  public static final String TYPE_MODEL = "model";
  public static final String TYPE_ADAPTER = "adapter";

  /** ggml's GGML_QNT_VERSION, which the converter writes as general.quantization_version. */
  public static final int GGML_QUANT_VERSION = 2;

  /** "{arch}.{key}", e.g. llama.block_count. */
  public static String arch(String arch, String key) {
    return arch + "." + key;
  }

  /** tokenizer.ggml.{type}_token_id for bos, eos, unk, sep, pad, cls, mask. */
  public static String specialTokenId(String type) {
    return "tokenizer.ggml." + (type.equals("sep") ? "seperator" : type.equals("unk") ? "unknown" : type.equals("pad") ? "padding" : type) + "_token_id";
  }
}
