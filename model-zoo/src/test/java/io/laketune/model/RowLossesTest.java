package io.laketune.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link CausalLm#rowLosses}: one forward over a padded batch gives each row the loss it has alone,
 * and the rows' losses sum to {@link CausalLm#loss} of the batch (Llama and GPT-2 paths).
 */
class RowLossesTest {
  @ParameterizedTest
  @ValueSource(strings = {"llama", "gpt2"})
  void eachRowsLossIsItsLossAlone(String fixture) throws Exception {
    CausalLm lm = HfModels.load(Fixtures.dir(fixture), HfModels.Options.inference());
    int v = lm.config().vocabSize();
    List<TokenizedExample> rows = List.of(
        TokenizedExample.allTokens(new int[] {1, 5 % v, 9 % v, 3, 7 % v, 2}),
        new TokenizedExample(new int[] {4, 8 % v, 6 % v}, new int[] {-100, 8 % v, 6 % v}),
        TokenizedExample.allTokens(new int[] {2, 11 % v, 13 % v, 17 % v}));
    Loss[] each = lm.rowLosses(TokenizedExample.padRight(rows));
    assertEquals(rows.size(), each.length);
    Loss sum = new Loss(0, 0);
    for (int i = 0; i < rows.size(); i++) {
      Loss alone = lm.loss(TokenizedExample.padRight(List.of(rows.get(i))));
      assertEquals(alone.count(), each[i].count(), "row " + i);
      assertEquals(alone.sum(), each[i].sum(), 1e-5 * Math.abs(alone.sum()), "row " + i);
      sum = sum.plus(each[i]);
    }
    Loss batch = lm.loss(TokenizedExample.padRight(rows));
    assertEquals(batch.count(), sum.count());
    assertEquals(batch.sum(), sum.sum(), 1e-5 * Math.abs(batch.sum()));
  }
}
