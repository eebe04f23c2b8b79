package io.laketune.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.laketune.io.DType;
import io.laketune.io.SafetensorsReader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Java quantise/dequantise against make_quant_fixtures.py's re-statement of bitsandbytes, bit for bit:
 * packed bytes, absmax, 8-bit absmax codes, nested absmax, offset, and every dequantised float (signed
 * zeros included), for nf4/fp4 with and without double quantisation on every edge case.
 */
class QuantizedTensorGoldenTest {

  @Test
  void everyCaseAndVariantIsBitExact() throws Exception {
    List<String> failures = new ArrayList<>();
    int checked = 0;
    for (String name : QuantFixtures.CASES) {
      try (SafetensorsReader r = QuantFixtures.open(name)) {
        int blocksize = Integer.parseInt(r.metadata().get("blocksize"));
        DType dtype = r.metadata().get("dtype").equals("bfloat16") ? DType.BF16 : DType.F32;
        INDArray input = r.read("input");
        assertEquals(dtype.toNd4j(), input.dataType(), name);
        for (QuantType type : QuantType.values()) {
          for (boolean dq : new boolean[] {false, true}) {
            String v = type.bnbName() + (dq ? "_dq" : "");
            if (!r.contains(v + ".packed")) continue;
            QuantizedTensor q = QuantizedTensor.quantize(input, type, blocksize, dq);
            String at = name + "/" + v;
            compare(failures, at + ".packed", r.readBytes(v + ".packed"), q.packed());
            if (dq) {
              compare(failures, at + ".qabsmax", r.readBytes(v + ".qabsmax"), q.qabsmax());
              compare(failures, at + ".nested_absmax", QuantFixtures.floats(r, v + ".nested_absmax"), q.nestedAbsmax());
              compare(failures, at + ".offset", QuantFixtures.floats(r, v + ".offset"), new float[] {q.offset()});
            } else {
              compare(failures, at + ".absmax", QuantFixtures.floats(r, v + ".absmax"), q.absmax());
            }
            compare(failures, at + ".dequant_absmax", QuantFixtures.floats(r, v + ".dequant_absmax"),
                q.effectiveAbsmax());
            INDArray out = q.dequantize();
            assertArrayEquals(input.shape(), out.shape(), at);
            compare(failures, at + ".dequant", QuantFixtures.floats(r, v + ".dequant"), out.data().asFloat());
            checked++;
          }
        }
      }
    }
    if (!failures.isEmpty()) fail(String.join("\n", failures));
    assertEquals(QuantFixtures.CASES.length * 4 - 2, checked, "variants checked");
  }

  @Test
  void userErrorsAreClear() {
    INDArray w = Nd4j.createFromArray(new float[] {0.1f, Float.NaN, 0.3f, 0.4f});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> QuantizedTensor.quantize(w, QuantType.NF4, 64, false));
    assertTrue(e.getMessage().contains("element 1 is NaN"), e.getMessage());
    INDArray ok = Nd4j.rand(DataType.FLOAT, 8, 8);
    assertThrows(IllegalArgumentException.class, () -> QuantizedTensor.quantize(ok, QuantType.NF4, 48, false));
    INDArray f64 = ok.castTo(DataType.DOUBLE);
    assertThrows(IllegalArgumentException.class, () -> QuantizedTensor.quantize(f64, QuantType.NF4, 64, false));
    QuantizedTensor q = QuantizedTensor.quantize(ok, QuantType.FP4, 64, true);
    assertThrows(IllegalArgumentException.class, () -> q.dequantizeInto(Nd4j.create(DataType.FLOAT, 8, 9)));
    INDArray viaView = Nd4j.create(DataType.FLOAT, 8, 8);
    q.dequantizeInto(viaView.transpose());
    assertEquals(0.0, viaView.transpose().sub(q.dequantize()).amaxNumber().doubleValue(), 0.0,
        "a non-contiguous destination is filled in row-major order of its own shape");
  }

  static void compare(List<String> failures, String what, byte[] expected, byte[] actual) {
    if (expected.length != actual.length) {
      failures.add(what + ": length " + actual.length + " != " + expected.length);
      return;
    }
    for (int i = 0; i < expected.length; i++) {
      if (expected[i] != actual[i]) {
        failures.add(what + "[" + i + "]: " + (actual[i] & 0xFF) + " != expected " + (expected[i] & 0xFF));
        return;
      }
    }
  }

  static void compare(List<String> failures, String what, float[] expected, float[] actual) {
    if (expected.length != actual.length) {
      failures.add(what + ": length " + actual.length + " != " + expected.length);
      return;
    }
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        failures.add(what + "[" + i + "]: " + actual[i] + " != expected " + expected[i]);
        return;
      }
    }
  }
}
