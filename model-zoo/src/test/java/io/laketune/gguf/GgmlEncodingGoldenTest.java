package io.laketune.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Q8_0 and BF16 bytes against ggml_golden.json, made by src/test/python/make_gguf_fixtures.py from
 * a numpy restatement of ggml's quantize_row_q8_0_ref and ggml_compute_fp32_to_bf16 (halves round
 * away from zero, f16 scales that underflow or overflow, all-zero blocks, NaN payloads).
 */
class GgmlEncodingGoldenTest {
  static JsonNode golden() throws Exception {
    try (InputStream in = GgmlEncodingGoldenTest.class.getResourceAsStream("/io/laketune/gguf/ggml_golden.json")) {
      return new ObjectMapper().readTree(in);
    }
  }

  static float[] floats(JsonNode bits) {
    float[] v = new float[bits.size()];
    for (int i = 0; i < v.length; i++) v[i] = Float.intBitsToFloat(Integer.parseUnsignedInt(bits.get(i).asText(), 16));
    return v;
  }

  @Test
  void q8_0BytesAreGgmls() throws Exception {
    JsonNode cases = golden().get("q8_0");
    for (JsonNode c : cases) {
      float[] x = floats(c.get("input_bits"));
      ByteBuffer out = ByteBuffer.allocate(x.length / 32 * 34).order(ByteOrder.LITTLE_ENDIAN);
      Q8_0.quantize(x, 0, x.length, out);
      assertEquals(c.get("q8_0").asText(), HexFormat.of().formatHex(out.array()), c.get("name").asText());
    }
  }

  @Test
  void bf16BitsAreGgmls() throws Exception {
    JsonNode bf16 = golden().get("bf16");
    float[] x = floats(bf16.get("input_bits"));
    for (int i = 0; i < x.length; i++) {
      String got = String.format("%04x", TensorCodec.floatToBf16(x[i]) & 0xFFFF);
      assertEquals(bf16.get("bf16").get(i).asText(), got, "bf16 of bits " + bf16.get("input_bits").get(i).asText());
    }
  }

  @Test
  void roundfRoundsHalvesAwayFromZero() {
    assertEquals(1, Q8_0.roundHalfAway(0.5f));
    assertEquals(-1, Q8_0.roundHalfAway(-0.5f));
    assertEquals(0, Q8_0.roundHalfAway(0.49999997f));
    assertEquals(3, Q8_0.roundHalfAway(2.5f));
    assertEquals(-127, Q8_0.roundHalfAway(-126.5f));
  }
}
