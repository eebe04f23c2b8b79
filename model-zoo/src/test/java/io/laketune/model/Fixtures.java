package io.laketune.model;

import io.laketune.io.SafetensorsReader;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The reference checkpoints and goldens made by src/test/python/make_fixtures.py. */
public final class Fixtures {
  private Fixtures() {}

  public static Path dir(String name) {
    try {
      var url = Fixtures.class.getResource("/fixtures/" + name + "/golden.safetensors");
      if (url == null) throw new IllegalStateException("fixture '" + name + "' is missing; run make_fixtures.py");
      return Paths.get(url.toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  public static int[][] ints(SafetensorsReader golden, String name) throws IOException {
    INDArray a = golden.read(name, DataType.INT64);
    int rows = (int) a.size(0), cols = (int) a.size(1);
    int[][] out = new int[rows][cols];
    for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) out[r][c] = a.getInt(r, c);
    return out;
  }

  /** Batch of the golden inputs. */
  public static Batch batch(SafetensorsReader golden) throws IOException {
    return new Batch(ints(golden, "input_ids"), ints(golden, "attention_mask"), ints(golden, "labels"), null, null);
  }
}
