package io.laketune.prep.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfig.PackMode;
import io.laketune.prep.tokenize.TokenizedDoc;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PackerTest {

  /** A document of n tokens whose ids are first, first+1, ...; every token trained. */
  private static TokenizedDoc doc(int n, int first) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = first + i;
    }
    return new TokenizedDoc(ids, ids.clone());
  }

  private static List<PackedRow> pack(PackMode mode, int seqLen, int openRows, int... lengths) {
    List<PackedRow> rows = new ArrayList<>();
    Packer packer = Packer.of(new PrepConfig.Pack(mode, openRows), seqLen, rows::add);
    int first = 0;
    for (int n : lengths) {
      packer.add(doc(n, first));
      first += 100;
    }
    packer.finish();
    return rows;
  }

  private static List<String> shapes(List<PackedRow> rows) {
    return rows.stream().map(r -> Arrays.toString(r.docLens())).toList();
  }

  @Test
  void greedyStartsARowWhenTheNextDocumentDoesNotFit() {
    assertEquals(List.of("[3, 4]", "[5]", "[8]", "[1, 2, 2]"),
        shapes(pack(PackMode.GREEDY, 8, 0, 3, 4, 5, 8, 1, 2, 2)));
  }

  @Test
  void bestFitFillsTheTightestRow() {
    // 5 opens A (room 3), 6 opens B (room 2), 2 fits B exactly (written), 3 fits A exactly
    // (written), 4 opens C, 1 goes to C.
    assertEquals(List.of("[6, 2]", "[5, 3]", "[4, 1]"),
        shapes(pack(PackMode.BEST_FIT, 8, 16, 5, 6, 2, 3, 4, 1)));
  }

  @Test
  void bestFitWritesTheFullestRowWhenTooManyAreOpen() {
    // 5 opens A (room 3), 6 opens B (room 2); 4 fits neither and two rows are open, so the
    // fullest (B) is written and C opens; 2 goes to A (room 3 beats 4). A and C by age at the end.
    assertEquals(List.of("[6]", "[5, 2]", "[4]"), shapes(pack(PackMode.BEST_FIT, 8, 2, 5, 6, 4, 2)));
  }

  @Test
  void noneMakesOneRowPerDocument() {
    assertEquals(List.of("[3]", "[4]"), shapes(pack(PackMode.NONE, 8, 0, 3, 4)));
  }

  @Test
  void rowsKeepTokensAndMaskTheFirstLabelOfLaterDocuments() {
    PackedRow row = pack(PackMode.GREEDY, 8, 0, 3, 2).get(0);
    assertArrayEquals(new int[] {0, 1, 2, 100, 101}, row.ids());
    assertArrayEquals(new int[] {0, 1, 2, -100, 101}, row.labels());
    assertEquals(4, row.trainedTokens());
  }
}
