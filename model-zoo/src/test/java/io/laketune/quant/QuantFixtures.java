package io.laketune.quant;

import io.laketune.io.SafetensorsReader;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.nd4j.linalg.api.buffer.DataType;

/** The files make_quant_fixtures.py writes under fixtures/quant. */
final class QuantFixtures {
  private QuantFixtures() {}

  static final String[] CASES = {
    "randn", "randn_bs128", "many_blocks", "zero_block", "huge_value", "codebook_values", "decision_edges",
    "negative_zero", "odd_length", "not_multiple_of_64", "single_block", "bf16_weights"
  };

  static Path file(String name) {
    try {
      var url = QuantFixtures.class.getResource("/fixtures/quant/" + name + ".safetensors");
      if (url == null) {
        throw new IllegalStateException("quant fixture '" + name + "' is missing; run make_quant_fixtures.py");
      }
      return Paths.get(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static SafetensorsReader open(String name) throws IOException {
    return SafetensorsReader.open(file(name));
  }

  static float[] floats(SafetensorsReader r, String key) throws IOException {
    return r.read(key, DataType.FLOAT).data().asFloat();
  }
}
