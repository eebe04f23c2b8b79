package io.laketune.ml;

import io.laketune.generate.Generator;
import io.laketune.generate.Sampler;
import io.laketune.model.CausalLm;
import io.laketune.model.Loss;
import io.laketune.model.TokenizedExample;
import io.laketune.tokenizer.Tokenizer;
import io.laketune.train.LocalModelDir;
import io.laketune.train.ModelSpec;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The executor side of {@link LaketuneModel#transform}: reads a partition's rows {@code batchSize} at a
 * time, scores each batch's texts in one forward pass per adapter (the rows of one tenant go together)
 * and continues the batch's prompts together, one batched KV-cache decoding step per token, and returns
 * each row with the new columns appended.
 *
 * <p>Per row: loss (mean cross-entropy over its tokens after the first, as {@code laketune eval} of a
 * {@code {"text": ...}} line), perplexity = exp(loss) and tokens (how many were scored; 0 and null loss for
 * a text of fewer than two tokens); generated (the continuation, special tokens skipped, as
 * {@code laketune generate} prints it) and generated_tokens.
 */
final class PartitionScorer implements Serializable {
  private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

  /** What a task needs: broadcast once per transform. */
  record Settings(ModelSpec spec, Map<String, AdapterFiles> adapters, String tenantCol, int textIndex, int promptIndex,
      int tenantIndex, boolean score, boolean generate, int batchSize, int maxNewTokens, double temperature, int topK,
      double topP, long seed, int[] stopTokens) implements Serializable {}

  private final Settings s;

  PartitionScorer(Settings s) {
    this.s = s;
  }

  Iterator<Row> apply(Iterator<Row> rows) {
    io.laketune.platform.NativeBuilds.init();
    Tokenizer tok = tokenizer(s.spec().model());
    return new Iterator<>() {
      private Iterator<Row> batch = List.<Row>of().iterator();

      @Override
      public boolean hasNext() {
        while (!batch.hasNext() && rows.hasNext()) {
          List<Row> in = new ArrayList<>(s.batchSize());
          while (in.size() < s.batchSize() && rows.hasNext()) in.add(rows.next());
          batch = score(in, tok).iterator();
        }
        return batch.hasNext();
      }

      @Override
      public Row next() {
        if (!hasNext()) throw new NoSuchElementException();
        return batch.next();
      }
    };
  }

  private List<Row> score(List<Row> rows, Tokenizer tok) {
    Object[][] extra = new Object[rows.size()][];
    Map<String, List<Integer>> byAdapter = new LinkedHashMap<>();
    for (int i = 0; i < rows.size(); i++) {
      extra[i] = new Object[(s.score() ? 3 : 0) + (s.generate() ? 2 : 0)];
      byAdapter.computeIfAbsent(adapterOf(rows.get(i)), k -> new ArrayList<>()).add(i);
    }
    for (Map.Entry<String, List<Integer>> e : byAdapter.entrySet()) {
      AdapterFiles adapter = e.getKey() == null ? null : s.adapters().get(e.getKey());
      CausalLm lm = ScoringModels.borrow(s.spec(), adapter);
      try {
        if (s.score()) scoreTexts(lm, tok, rows, e.getValue(), extra);
        if (s.generate()) generate(lm, tok, rows, e.getValue(), extra);
      } finally {
        ScoringModels.release(s.spec(), adapter, lm);
      }
    }
    List<Row> out = new ArrayList<>(rows.size());
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      Object[] v = new Object[r.length() + extra[i].length];
      for (int c = 0; c < r.length(); c++) v[c] = r.get(c);
      System.arraycopy(extra[i], 0, v, r.length(), extra[i].length);
      out.add(RowFactory.create(v));
    }
    return out;
  }

  /** The adapter a row is scored with: its tenant's, the model's one adapter, or null for the bare base. */
  private String adapterOf(Row r) {
    if (s.tenantIndex() < 0) return s.adapters().isEmpty() ? null : s.adapters().keySet().iterator().next();
    Object t = r.get(s.tenantIndex());
    if (t == null || !s.adapters().containsKey(t.toString())) {
      throw new IllegalArgumentException("a row's " + s.tenantCol() + " is " + (t == null ? "null" : "'" + t + "'")
          + ", which names no adapter of this model; it holds adapters for " + s.adapters().keySet()
          + " (filter the rows, or fit with those tenants)");
    }
    return t.toString();
  }

  private void scoreTexts(CausalLm lm, Tokenizer tok, List<Row> rows, List<Integer> which, Object[][] extra) {
    List<Integer> scored = new ArrayList<>();
    List<TokenizedExample> examples = new ArrayList<>();
    for (int i : which) {
      String text = rows.get(i).getString(s.textIndex());
      int[] ids = text == null ? new int[0] : tok.encode(text);
      extra[i][2] = 0L;
      if (ids.length < 2) continue;
      scored.add(i);
      examples.add(TokenizedExample.allTokens(ids));
    }
    if (examples.isEmpty()) return;
    Loss[] losses = lm.rowLosses(TokenizedExample.padRight(examples));
    for (int j = 0; j < scored.size(); j++) {
      Object[] x = extra[scored.get(j)];
      x[0] = losses[j].mean();
      x[1] = Math.exp(losses[j].mean());
      x[2] = losses[j].count();
    }
  }

  private void generate(CausalLm lm, Tokenizer tok, List<Row> rows, List<Integer> which, Object[][] extra) {
    int[] stop = IntStream.concat(IntStream.concat(Arrays.stream(tok.eosIds()), Arrays.stream(lm.config().eosTokenIds())),
        Arrays.stream(s.stopTokens())).distinct().toArray();
    int at = s.score() ? 3 : 0;
    List<Integer> going = new ArrayList<>();
    List<int[]> prompts = new ArrayList<>();
    for (int i : which) {
      String prompt = rows.get(i).getString(s.promptIndex());
      int[] ids = prompt == null ? new int[0] : tok.encode(prompt);
      if (ids.length == 0) continue;
      going.add(i);
      prompts.add(ids);
    }
    if (prompts.isEmpty()) return;
    // A sampler per row, seeded alike: a row's text does not depend on its partition or neighbours.
    Sampler[] samplers = new Sampler[prompts.size()];
    for (int j = 0; j < samplers.length; j++) samplers[j] = new Sampler(s.temperature(), s.topK(), s.topP(), s.seed());
    int[][] produced = Generator.generate(lm, prompts.toArray(int[][]::new), s.maxNewTokens(), samplers, stop);
    for (int j = 0; j < produced.length; j++) {
      extra[going.get(j)][at] = tok.decode(produced[j], true);
      extra[going.get(j)][at + 1] = produced[j].length;
    }
  }

  private static Tokenizer tokenizer(String model) {
    return TOKENIZERS.computeIfAbsent(model, m -> {
      java.nio.file.Path dir = LocalModelDir.of(m);
      if (!Tokenizer.present(dir)) {
        throw new IllegalArgumentException(m + " has no tokenizer.json; LaketuneModel scores and generates text and needs one");
      }
      try {
        return Tokenizer.load(dir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot load the tokenizer of " + m + ": " + e.getMessage(), e);
      }
    });
  }
}
