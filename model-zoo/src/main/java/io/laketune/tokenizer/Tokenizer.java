package io.laketune.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Hugging Face tokenizer loaded from a model directory: tokenizer.json (run by the Rust
 * tokenizers inside DJL) plus tokenizer_config.json, special_tokens_map.json,
 * generation_config.json and chat_template.jinja where present.
 *
 * <p>{@link #encode(String)} is transformers' {@code tokenizer(text)["input_ids"]}: whatever
 * tokenizer.json's post-processor adds (Llama 2's {@code <s>}, nothing for Qwen), no truncation, no
 * padding. {@link #decode} is {@code tokenizer.decode(ids, skip_special_tokens=...)}, including
 * clean_up_tokenization_spaces when tokenizer_config.json asks for it.
 *
 * <p>Encoding and decoding are safe for concurrent use. Close to free the native tokenizer.
 */
public final class Tokenizer implements AutoCloseable {

  public static final String TOKENIZER_JSON = "tokenizer.json";

  private final Path modelDir;
  private final HuggingFaceTokenizer djl;
  private final Vocabulary vocabulary;
  private final TokenizerConfig config;
  private final String fingerprint;
  private final Map<String, ChatTemplate> chatTemplates = new ConcurrentHashMap<>();

  private Tokenizer(
      Path modelDir,
      HuggingFaceTokenizer djl,
      Vocabulary vocabulary,
      TokenizerConfig config,
      String fingerprint) {
    this.modelDir = modelDir;
    this.djl = djl;
    this.vocabulary = vocabulary;
    this.config = config;
    this.fingerprint = fingerprint;
  }

  /** DJL's offline mode, usage tracking and native-library cache folder, as laketune configured them. */
  public record DjlState(boolean offline, boolean trackingOff, String cacheDir) {}

  /** What DJL will do when a tokenizer loads (for {@code laketune env}); makes no network call. */
  public static DjlState djlState() {
    String[] s = OfflineDjl.state();
    return new DjlState(Boolean.parseBoolean(s[0]), Boolean.parseBoolean(s[1]), s[2]);
  }

  /** Whether the directory holds a tokenizer.json that {@link #load} can read. */
  public static boolean present(Path modelDir) {
    return Files.isRegularFile(modelDir.resolve(TOKENIZER_JSON));
  }

  /**
   * Loads the tokenizer of a Hugging Face model directory.
   *
   * @throws NoSuchFileException when the directory has no tokenizer.json
   * @throws IllegalArgumentException when a file is malformed; the message names it
   */
  public static Tokenizer load(Path modelDir) throws IOException {
    Path file = modelDir.resolve(TOKENIZER_JSON);
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(
          file.toString(),
          null,
          "no such file; point to a Hugging Face model directory that has a tokenizer.json");
    }
    byte[] json = Files.readAllBytes(file);
    Vocabulary vocabulary;
    try {
      vocabulary = Vocabulary.read(json);
    } catch (IOException | IllegalArgumentException e) {
      throw malformed(file, e);
    }
    TokenizerConfig config = TokenizerConfig.read(modelDir);
    HuggingFaceTokenizer djl;
    try {
      djl = OfflineDjl.newTokenizer(new String(json, StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      throw malformed(file, e);
    }
    return new Tokenizer(modelDir, djl, vocabulary, config, fingerprint(modelDir, json));
  }

  private static IllegalArgumentException malformed(Path file, Exception e) {
    String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return new IllegalArgumentException(
        file
            + " is not a Hugging Face tokenizer.json ("
            + reason.lines().findFirst().orElse("")
            + "); restore it from the model's original files.",
        e);
  }

  /** Token ids of the text with the special tokens the post-processor adds. */
  public int[] encode(String text) {
    return encode(text, true);
  }

  /**
   * Token ids of the text. Special-token strings inside the text ({@code <|eot_id|>}) are encoded
   * as the special tokens, as in transformers.
   *
   * @param addSpecialTokens whether the post-processor adds its special tokens (BOS for Llama 2);
   *     false for rendered chats, whose template already wrote them
   */
  public int[] encode(String text, boolean addSpecialTokens) {
    return toInts(djl.encode(text, addSpecialTokens, false).getIds());
  }

  /** Token ids and, for each, the span of the text it came from. */
  public Encoding encodeWithOffsets(String text, boolean addSpecialTokens) {
    ai.djl.huggingface.tokenizers.Encoding e = djl.encode(text, addSpecialTokens, false);
    int[] ids = toInts(e.getIds());
    CharSpan[] spans = e.getCharTokenSpans();
    int[] starts = new int[ids.length];
    int[] ends = new int[ids.length];
    // The Rust side counts code points; Java strings count UTF-16 units.
    int[] utf16 = text.length() == text.codePointCount(0, text.length()) ? null : utf16Index(text);
    for (int i = 0; i < ids.length; i++) {
      if (spans[i] != null) {
        starts[i] = utf16 == null ? spans[i].getStart() : utf16[spans[i].getStart()];
        ends[i] = utf16 == null ? spans[i].getEnd() : utf16[spans[i].getEnd()];
      }
    }
    return new Encoding(ids, starts, ends);
  }

  /** Text of the token ids; ids outside the vocabulary are skipped, as in transformers. */
  public String decode(int[] ids, boolean skipSpecialTokens) {
    if (ids.length == 0) {
      return "";
    }
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      longs[i] = ids[i];
    }
    String text = djl.decode(longs, skipSpecialTokens);
    return config.cleanUpTokenizationSpaces() ? cleanUpTokenizationSpaces(text) : text;
  }

  /** Number of distinct tokens including added ones: transformers' {@code len(tokenizer)}. */
  public int vocabSize() {
    return vocabulary.size();
  }

  /** Id of a token written as in the vocabulary ({@code <|eot_id|>}, {@code Ġthe}). */
  public OptionalInt tokenId(String token) {
    return vocabulary.id(token);
  }

  /** Id of bos_token, if the tokenizer has one. */
  public OptionalInt bosId() {
    return specialTokenId("bos_token");
  }

  /**
   * Ids that end generation: eos_token, then generation_config.json's eos_token_id (Llama 3
   * Instruct ends turns with {@code <|eot_id|>}, which only generation_config.json names).
   */
  public int[] eosIds() {
    Set<Integer> ids = new LinkedHashSet<>();
    specialTokenId("eos_token").ifPresent(ids::add);
    for (int id : config.generationEosIds()) {
      ids.add(id);
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Id of pad_token, if the tokenizer has one. */
  public OptionalInt padId() {
    return specialTokenId("pad_token");
  }

  /** add_bos_token of tokenizer_config.json as written; {@link #encode} follows tokenizer.json. */
  public Optional<Boolean> addBosToken() {
    return config.addBosToken();
  }

  /** Special tokens by name (bos_token, eos_token, unk_token, pad_token) where set. */
  public Optional<String> specialToken(String name) {
    Object token = config.specialTokens().get(name);
    return token instanceof String ? Optional.of((String) token) : Optional.empty();
  }

  /** The default chat template, if the model has one. */
  public Optional<ChatTemplate> chatTemplate() {
    return chatTemplate("default");
  }

  /** A named chat template of tokenizer_config.json's list ("default", "tool_use", ...). */
  public Optional<ChatTemplate> chatTemplate(String name) {
    String source = config.chatTemplates().get(name);
    if (source == null) {
      return Optional.empty();
    }
    return Optional.of(
        chatTemplates.computeIfAbsent(name, n -> new ChatTemplate(source, config.specialTokens())));
  }

  /**
   * The chat templates' Jinja sources by name ("default", "tool_use", ...), as {@link
   * #chatTemplate(String)} renders them; empty when the model has none.
   */
  public Map<String, String> chatTemplateSources() {
    return config.chatTemplates();
  }

  /**
   * SHA-256 (hex) of tokenizer.json followed by tokenizer_config.json and chat_template.jinja where
   * present: {@code cat tokenizer.json tokenizer_config.json | sha256sum}. Datasets record it to
   * say which tokenizer made their ids.
   */
  public String fingerprint() {
    return fingerprint;
  }

  /** The directory this tokenizer was loaded from. */
  public Path modelDir() {
    return modelDir;
  }

  @Override
  public void close() {
    djl.close();
  }

  private OptionalInt specialTokenId(String name) {
    Object token = config.specialTokens().get(name);
    return token instanceof String ? vocabulary.id((String) token) : OptionalInt.empty();
  }

  private static String fingerprint(Path modelDir, byte[] tokenizerJson) throws IOException {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
    sha256.update(tokenizerJson);
    for (String name :
        new String[] {TokenizerConfig.TOKENIZER_CONFIG, TokenizerConfig.CHAT_TEMPLATE_FILE}) {
      Path file = modelDir.resolve(name);
      if (Files.isRegularFile(file)) {
        sha256.update(Files.readAllBytes(file));
      }
    }
    return HexFormat.of().formatHex(sha256.digest());
  }

  /** transformers' clean_up_tokenization: no space before punctuation and contractions. */
  private static String cleanUpTokenizationSpaces(String text) {
    return text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re");
  }

  /** utf16[k] = String index of code point k, for k = 0..codePointCount. */
  private static int[] utf16Index(String text) {
    int[] index = new int[text.codePointCount(0, text.length()) + 1];
    int k = 0;
    for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) {
      index[k++] = i;
    }
    index[k] = text.length();
    return index;
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }
}
