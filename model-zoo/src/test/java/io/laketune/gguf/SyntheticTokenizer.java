package io.laketune.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Small tokenizer.json files for models whose vocabulary is too small for a real tokenizer: a
 * SentencePiece-style one (BPE with byte fallback, ▁ prepended, BOS added by the post-processor,
 * as Llama 2's) with the given pieces after {@code <unk> <s> </s>}, and a byte-level one.
 */
final class SyntheticTokenizer {
  private SyntheticTokenizer() {}

  static void write(Path dir, List<String> pieces, List<String> merges) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode().put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    String[] specials = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < specials.length; i++) {
      added.addObject().put("id", i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
          .put("rstrip", false).put("normalized", false).put("special", true);
    }
    ArrayNode norms = root.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
    norms.addObject().put("type", "Prepend").put("prepend", "\u2581");
    norms.addObject().put("type", "Replace").put("content", "\u2581").putObject("pattern").put("String", " ");
    root.putNull("pre_tokenizer");
    ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
    post.putArray("single").add(special("<s>", 0)).add(sequence("A", 0));
    post.putArray("pair").add(special("<s>", 0)).add(sequence("A", 0)).add(special("<s>", 1)).add(sequence("B", 1));
    ObjectNode bos = post.putObject("special_tokens").putObject("<s>").put("id", "<s>");
    bos.putArray("ids").add(1);
    bos.putArray("tokens").add("<s>");
    ArrayNode decoders = root.putObject("decoder").put("type", "Sequence").putArray("decoders");
    decoders.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("String", "\u2581");
    decoders.addObject().put("type", "ByteFallback");
    decoders.addObject().put("type", "Fuse");
    decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
    ObjectNode model = root.putObject("model").put("type", "BPE");
    model.putNull("dropout");
    model.put("unk_token", "<unk>").putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", true).put("byte_fallback", true).put("ignore_merges", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int i = 0; i < specials.length; i++) vocab.put(specials[i], i);
    for (int i = 0; i < pieces.size(); i++) vocab.put(pieces.get(i), specials.length + i);
    ArrayNode m = model.putArray("merges");
    merges.forEach(m::add);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));
    Files.writeString(dir.resolve("tokenizer_config.json"),
        "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\", \"add_bos_token\": true}");
  }

  private static ObjectNode special(String id, int type) {
    ObjectNode n = new ObjectMapper().createObjectNode();
    n.putObject("SpecialToken").put("id", id).put("type_id", type);
    return n;
  }

  private static ObjectNode sequence(String id, int type) {
    ObjectNode n = new ObjectMapper().createObjectNode();
    n.putObject("Sequence").put("id", id).put("type_id", type);
    return n;
  }

  /**
   * A 128-token byte-level BPE (GPT-2 style, no merges): ids 0..126 are the bytes 0..126 in GPT-2's
   * byte-to-character map, id 127 is {@code <|endoftext|>}. Enough for llama.cpp to load a tiny
   * model and for any ASCII text to tokenize.
   */
  static void writeByteLevel128(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode().put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    root.putArray("added_tokens").addObject().put("id", 127).put("content", "<|endoftext|>").put("single_word", false)
        .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
    root.putNull("normalizer");
    root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
        .put("use_regex", true);
    root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", false)
        .put("use_regex", true);
    root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
        .put("use_regex", true);
    ObjectNode model = root.putObject("model").put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "").put("fuse_unk", false)
        .put("byte_fallback", false).put("ignore_merges", false);
    ObjectNode vocab = model.putObject("vocab");
    // GPT-2's bytes_to_unicode: printable bytes stand for themselves, bytes 0..32 become U+0100..U+0120
    for (int b = 0; b < 127; b++) vocab.put(String.valueOf((char) (b < 33 ? 256 + b : b)), b);
    model.putArray("merges");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|endoftext|>\", \"eos_token\": \"<|endoftext|>\"}");
  }
}
