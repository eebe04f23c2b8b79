package io.laketune.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * A Hugging Face tokenizer (tokenizer.json and the files beside it) in the GGUF form llama.cpp's
 * tokenizer reads, following what llama.cpp's converter writes:
 *
 * <ul>
 *   <li>BPE with byte fallback (Llama 2, Mistral, stories260K: SentencePiece converted to
 *       tokenizer.json) becomes {@code tokenizer.ggml.model = "llama"}: pieces by id, token types
 *       (BYTE for {@code <0xNN>}, CONTROL for special added tokens, UNKNOWN for unk_token), and
 *       scores. llama.cpp's SentencePiece tokenizer repeatedly merges the adjacent pair whose
 *       concatenation has the highest score; tokenizer.json holds the merges instead, so a piece's
 *       score is minus the rank of the first merge that makes it, which makes llama.cpp merge in
 *       the order of the merges list. (The converter's tokenizer.json path writes -1000 for every
 *       piece, which leaves llama.cpp no order at all.)
 *   <li>Byte-level BPE (GPT-2, Llama 3, Qwen2/3) becomes {@code "gpt2"}: tokens as tokenizer.json
 *       spells them (Ġ for the space byte), merges as "left right", and the pre-tokenizer's name
 *       ({@code tokenizer.ggml.pre}) chosen by its split regex: Llama 3's is {@code llama-bpe},
 *       Qwen2's (single digits) is {@code qwen2}, GPT-2's built-in one is {@code gpt-2}.
 * </ul>
 *
 * Ids beyond the tokenizer up to the model's vocab_size become {@code [PADn]} UNUSED tokens.
 * Special token ids come from the tokenizer's bos/eos/unk/pad tokens (special_tokens_map.json and
 * tokenizer_config.json, as transformers reads them), else from config.json's {@code *_token_id}.
 * add_bos_token / add_eos_token are measured: what laketune's tokenizer (tokenizer.json's
 * post-processor) adds around a text is what llama.cpp is told to add. The default chat template,
 * and named ones, go to tokenizer.chat_template[.name]. A model directory without tokenizer.json
 * gets {@code tokenizer.ggml.model = "none"}.
 */
final class GgufVocab {
  static final int NORMAL = 1;
  static final int UNKNOWN = 2;
  static final int CONTROL = 3;
  static final int USER_DEFINED = 4;
  static final int UNUSED = 5;
  static final int BYTE = 6;

  /** Llama 3's split regex in tokenizer.json (llama.cpp: LLAMA_VOCAB_PRE_TYPE_LLAMA3). */
  static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
      + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  /** Qwen2's split regex: Llama 3's with single digits (llama.cpp: LLAMA_VOCAB_PRE_TYPE_QWEN2). */
  static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
      + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-Fa-f]{2}>");
  private static final ObjectMapper JSON = new ObjectMapper();

  private GgufVocab() {}

  /** Puts the tokenizer metadata of the model directory {@code dir} into {@code w}. */
  static void write(GgufWriter w, Path dir, int modelVocab, String arch) throws IOException {
    Path file = dir.resolve(Tokenizer.TOKENIZER_JSON);
    if (!Files.isRegularFile(file)) {
      w.put(GgufKeys.TOKENIZER_MODEL, GgufValue.string("none"));
      w.put(GgufKeys.arch(arch, GgufKeys.VOCAB_SIZE), GgufValue.uint32(modelVocab));
      return;
    }
    JsonNode json = JSON.readTree(file.toFile());
    JsonNode model = json.path("model");
    if (!"BPE".equals(model.path("type").asText())) {
      throw new IllegalArgumentException(file + " holds a " + model.path("type").asText("(missing)")
          + " tokenizer; GGUF export supports BPE tokenizers (SentencePiece-style with byte fallback, or byte-level)");
    }
    boolean spm = model.path("byte_fallback").asBoolean(false);
    String pre = spm ? "default" : preTokenizerName(json, file);

    Map<Integer, String> byId = new HashMap<>();
    model.path("vocab").fields().forEachRemaining(e -> byId.put(e.getValue().asInt(), e.getKey()));
    Map<Integer, JsonNode> added = new HashMap<>();
    for (JsonNode a : json.path("added_tokens")) {
      added.put(a.path("id").asInt(), a);
      byId.put(a.path("id").asInt(), a.path("content").asText());
    }
    int maxId = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
    if (maxId >= modelVocab) {
      throw new IllegalArgumentException(file + " has token id " + maxId + " but config.json's vocab_size is "
          + modelVocab + "; the model has no embedding for it");
    }
    List<String> merges = merges(model.path("merges"), file);

    try (Tokenizer tok = Tokenizer.load(dir)) {
      OptionalInt unk = tok.specialToken("unk_token").map(tok::tokenId).orElse(OptionalInt.empty());
      List<String> tokens = new ArrayList<>(modelVocab);
      int[] types = new int[modelVocab];
      float[] scores = spm ? new float[modelVocab] : null;
      Map<String, Integer> firstMerge = spm ? firstMergeRank(merges) : Map.of();
      for (int id = 0; id < modelVocab; id++) {
        String text = byId.get(id);
        JsonNode a = added.get(id);
        if (text == null) {
          tokens.add("[PAD" + id + "]");
          types[id] = UNUSED;
          if (spm) scores[id] = -1000f;
          continue;
        }
        int type;
        if (a != null) {
          boolean special = a.path("special").asBoolean(false) || looksSpecial(text);
          type = unk.isPresent() && unk.getAsInt() == id ? UNKNOWN : special ? CONTROL : USER_DEFINED;
          // llama.cpp matches user-defined tokens in the raw text, before spaces become ▁
          if (type == USER_DEFINED && spm) text = text.replace('\u2581', ' ');
        } else if (spm && BYTE_PIECE.matcher(text).matches()) {
          type = BYTE;
        } else if (unk.isPresent() && unk.getAsInt() == id) {
          type = UNKNOWN;
        } else {
          type = NORMAL;
        }
        tokens.add(text);
        types[id] = type;
        if (spm) {
          Integer rank = firstMerge.get(text);
          scores[id] = a != null ? -1000f : rank == null ? 0f : -rank;
        }
      }
      w.put(GgufKeys.TOKENIZER_MODEL, GgufValue.string(spm ? "llama" : "gpt2"));
      w.put(GgufKeys.TOKENIZER_PRE, GgufValue.string(pre));
      w.put(GgufKeys.TOKENS, GgufValue.strings(tokens));
      if (spm) w.put(GgufKeys.SCORES, GgufValue.float32s(scores));
      w.put(GgufKeys.TOKEN_TYPE, GgufValue.int32s(types));
      if (!spm) w.put(GgufKeys.MERGES, GgufValue.strings(merges));
      if (spm) w.put(GgufKeys.ADD_SPACE_PREFIX, GgufValue.bool(addsSpacePrefix(json)));
      specialIds(w, tok, dir, modelVocab);
      addedAroundText(w, tok);
      chatTemplates(w, tok);
    }
  }

  /**
   * llama.cpp's name for a byte-level pre-tokenizer, from its split regex; anything else is
   * refused, since llama.cpp would split the text differently from tokenizer.json.
   */
  static String preTokenizerName(JsonNode json, Path file) {
    JsonNode pre = json.path("pre_tokenizer");
    String type = pre.path("type").asText("");
    if (type.equals("ByteLevel") && pre.path("use_regex").asBoolean(true)) {
      if (pre.path("add_prefix_space").asBoolean(false)) {
        throw new IllegalArgumentException(file + ": a ByteLevel pre-tokenizer with add_prefix_space = true has no llama.cpp equivalent");
      }
      return "gpt-2";
    }
    if (type.equals("Sequence")) {
      JsonNode list = pre.path("pretokenizers");
      if (list.size() == 2 && list.get(0).path("type").asText().equals("Split")
          && list.get(1).path("type").asText().equals("ByteLevel")
          && !list.get(1).path("use_regex").asBoolean(true)
          && !list.get(1).path("add_prefix_space").asBoolean(false)
          && list.get(0).path("behavior").asText().equals("Isolated")
          && !list.get(0).path("invert").asBoolean(false)) {
        String regex = list.get(0).path("pattern").path("Regex").asText("");
        // Llama 3's regex with ignore_merges (whole words in the vocabulary skip the merges) is
        // llama-bpe; without it, llama.cpp calls the same splitting smaug-bpe.
        if (regex.equals(LLAMA3_SPLIT)) return json.path("model").path("ignore_merges").asBoolean(false) ? "llama-bpe" : "smaug-bpe";
        if (regex.equals(QWEN2_SPLIT)) return "qwen2";
      }
    }
    throw new IllegalArgumentException(file + ": its pre-tokenizer " + abbreviate(pre.toString())
        + " is not one laketune can name for llama.cpp (known: GPT-2's byte-level, Llama 3's and Qwen2's split regex)");
  }

  private static String abbreviate(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  /**
   * Merges as "left right" strings; the list-of-pairs format (transformers 4.45+) may hold spaces
   * inside a part, which are written as U+0120 as the converter does.
   */
  static List<String> merges(JsonNode merges, Path file) {
    List<String> out = new ArrayList<>(merges.size());
    for (JsonNode m : merges) {
      if (m.isTextual()) {
        out.add(m.textValue());
      } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
        out.add(m.get(0).textValue().replace(' ', '\u0120') + " " + m.get(1).textValue().replace(' ', '\u0120'));
      } else {
        throw new IllegalArgumentException(file + ": model.merges holds " + m + ", which is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
    return out;
  }

  /** For each piece a merge produces, the rank of the first merge producing it. */
  private static Map<String, Integer> firstMergeRank(List<String> merges) {
    Map<String, Integer> rank = new HashMap<>();
    for (int i = 0; i < merges.size(); i++) {
      String m = merges.get(i);
      int space = m.indexOf(' ', 1);
      if (space < 0) continue;
      rank.putIfAbsent(m.substring(0, space) + m.substring(space + 1), i);
    }
    return rank;
  }

  /** The converter's does_token_look_special: added tokens some models forgot to mark special. */
  static boolean looksSpecial(String t) {
    return t.equals("<pad>") || t.equals("<mask>") || t.equals("<2mass>") || t.equals("[@BOS@]")
        || (t.startsWith("<|") && t.endsWith("|>")) || (t.startsWith("<\uFF5C") && t.endsWith("\uFF5C>"))
        || (t.startsWith("<unused") && t.endsWith(">"));
  }

  /** Whether the SentencePiece-style normaliser or pre-tokenizer puts ▁ before the text. */
  static boolean addsSpacePrefix(JsonNode json) {
    if (prepends(json.path("normalizer"))) return true;
    JsonNode pre = json.path("pre_tokenizer");
    List<JsonNode> pres = new ArrayList<>();
    if (pre.path("type").asText().equals("Sequence")) pre.path("pretokenizers").forEach(pres::add);
    else pres.add(pre);
    for (JsonNode p : pres) {
      if (p.path("type").asText().equals("Metaspace")) {
        String scheme = p.path("prepend_scheme").asText(p.path("add_prefix_space").asBoolean(true) ? "always" : "never");
        return !scheme.equals("never");
      }
    }
    return false;
  }

  private static boolean prepends(JsonNode n) {
    String type = n.path("type").asText("");
    if (type.equals("Prepend")) return n.path("prepend").asText().equals("\u2581");
    if (type.equals("Sequence")) {
      for (JsonNode c : n.path("normalizers")) if (prepends(c)) return true;
    }
    return false;
  }

  /** bos, eos, unk and pad ids: the tokenizer's special tokens, else config.json's *_token_id. */
  private static void specialIds(GgufWriter w, Tokenizer tok, Path dir, int modelVocab) throws IOException {
    JsonNode config = Files.isRegularFile(dir.resolve("config.json")) ? JSON.readTree(dir.resolve("config.json").toFile()) : JSON.createObjectNode();
    Map<String, Integer> ids = new LinkedHashMap<>();
    for (String typ : List.of("bos", "eos", "unk", "pad")) {
      OptionalInt id = tok.specialToken(typ + "_token").map(tok::tokenId).orElse(OptionalInt.empty());
      if (id.isPresent()) {
        ids.put(typ, id.getAsInt());
      } else {
        JsonNode c = config.get(typ + "_token_id");
        if (c != null && c.isInt() && c.intValue() >= 0 && c.intValue() < modelVocab) ids.put(typ, c.intValue());
      }
    }
    ids.forEach((typ, id) -> w.put(GgufKeys.specialTokenId(typ), GgufValue.uint32(id)));
  }

  /**
   * add_bos_token / add_eos_token as tokenizer.json's post-processor behaves: the ids it puts
   * before and after a text. Anything but the BOS before or the EOS after has no GGUF form.
   */
  private static void addedAroundText(GgufWriter w, Tokenizer tok) {
    String probe = "Hello world";
    int[] plain = tok.encode(probe, false);
    int[] full = tok.encode(probe, true);
    int start = indexOf(full, plain);
    if (start < 0) throw new IllegalArgumentException("the tokenizer's post-processor changes the text's own ids; GGUF cannot express that");
    int[] before = Arrays.copyOfRange(full, 0, start);
    int[] after = Arrays.copyOfRange(full, start + plain.length, full.length);
    int bos = tok.bosId().orElse(-1);
    int[] eos = tok.specialToken("eos_token").map(tok::tokenId).orElse(OptionalInt.empty()).stream().toArray();
    if (before.length > 1 || before.length == 1 && before[0] != bos) {
      throw new IllegalArgumentException("the tokenizer puts " + Arrays.toString(before)
          + " before every text; GGUF can only say that the BOS token (" + bos + ") is added");
    }
    if (after.length > 1 || after.length == 1 && (eos.length == 0 || after[0] != eos[0])) {
      throw new IllegalArgumentException("the tokenizer puts " + Arrays.toString(after)
          + " after every text; GGUF can only say that the EOS token is added");
    }
    w.put(GgufKeys.ADD_BOS, GgufValue.bool(before.length == 1));
    w.put(GgufKeys.ADD_EOS, GgufValue.bool(after.length == 1));
  }

  private static int indexOf(int[] haystack, int[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
      return i;
    }
    return -1;
  }

  /** The default template as tokenizer.chat_template, others as tokenizer.chat_template.NAME. */
  private static void chatTemplates(GgufWriter w, Tokenizer tok) {
    Map<String, String> templates = tok.chatTemplateSources();
    List<String> named = new ArrayList<>();
    for (Map.Entry<String, String> t : templates.entrySet()) {
      if (t.getKey().equals("default")) continue;
      String name = t.getKey().replaceAll("[^A-Za-z0-9]", "_");
      w.put(GgufKeys.CHAT_TEMPLATE + "." + name, GgufValue.string(t.getValue()));
      named.add(name);
    }
    if (!named.isEmpty()) w.put("tokenizer.chat_templates", GgufValue.strings(named));
    String def = templates.get("default");
    if (def != null) w.put(GgufKeys.CHAT_TEMPLATE, GgufValue.string(def));
  }
}
