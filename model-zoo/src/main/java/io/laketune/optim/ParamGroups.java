package io.laketune.optim;

import io.laketune.nn.ParamStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW groups over a store's flat trainable vector: LoRA+ (lora_B learns {@code loraPlusRatio}
 * times faster than lora_A, Hayou et al. 2024) and no weight decay on biases and norm weights, as
 * HF Trainer's get_decay_parameter_names leaves them out.
 */
public final class ParamGroups {
  private ParamGroups() {}

  /** @param loraPlusRatio lr multiplier of lora_B; 1 (or 0) = plain AdamW */
  public static List<AdamW.Group> of(ParamStore ps, double loraPlusRatio) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (String name : ps.trainableNames()) shapes.put(name, ps.get(name).shape());
    return of(shapes, loraPlusRatio);
  }

  /**
   * The same groups from the trainable names and shapes alone, in flat-layout order (a driver that
   * never allocates the parameters).
   */
  public static List<AdamW.Group> of(Map<String, long[]> trainableShapes, double loraPlusRatio) {
    double ratio = loraPlusRatio > 0 ? loraPlusRatio : 1.0;
    List<AdamW.Group> groups = new ArrayList<>();
    long offset = 0;
    for (Map.Entry<String, long[]> e : trainableShapes.entrySet()) {
      String name = e.getKey();
      long[] shape = e.getValue();
      long length = 1;
      for (long d : shape) length = Math.multiplyExact(length, d);
      double scale = name.contains(".lora_B.") ? ratio : 1.0;
      boolean decay = !(name.endsWith(".bias") || shape.length == 1);
      long end = offset + length;
      AdamW.Group last = groups.isEmpty() ? null : groups.get(groups.size() - 1);
      if (last != null && last.end() == offset && last.lrScale() == scale && last.decay() == decay) {
        groups.set(groups.size() - 1, new AdamW.Group(last.start(), end, scale, decay));
      } else {
        groups.add(new AdamW.Group(offset, end, scale, decay));
      }
      offset = end;
    }
    return groups;
  }
}
