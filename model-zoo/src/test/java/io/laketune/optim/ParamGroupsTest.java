package io.laketune.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.laketune.nn.ParamStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

class ParamGroupsTest {
  @Test
  void loraPlusScalesBAndNormsAndBiasesSkipDecay() {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("m.q_proj.lora_A.weight", new long[] {2, 3});
    shapes.put("m.q_proj.lora_B.weight", new long[] {4, 2});
    shapes.put("m.v_proj.lora_A.weight", new long[] {2, 3});
    shapes.put("m.v_proj.lora_B.weight", new long[] {4, 2});
    shapes.put("m.q_proj.bias", new long[] {4});
    shapes.put("m.frozen.weight", new long[] {9, 9});
    ParamStore ps = ParamStore.allocate(shapes, n -> !n.contains("frozen"), DataType.FLOAT, DataType.FLOAT);
    List<AdamW.Group> g = ParamGroups.of(ps, 16);
    assertEquals(List.of(new AdamW.Group(0, 6, 1, true), new AdamW.Group(6, 14, 16, true),
        new AdamW.Group(14, 20, 1, true), new AdamW.Group(20, 28, 16, true), new AdamW.Group(28, 32, 1, false)), g);
    assertEquals(List.of(new AdamW.Group(0, 28, 1, true), new AdamW.Group(28, 32, 1, false)), ParamGroups.of(ps, 0));
  }
}
