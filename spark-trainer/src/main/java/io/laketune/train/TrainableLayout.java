package io.laketune.train;

import io.laketune.model.HfModels;
import io.laketune.model.ModelConfig;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where every trainable tensor sits in the flat vector (the order ParamStore lays them out), known
 * from the model's config alone: the sharded path's driver plans checkpoint files and optimizer groups
 * from it without allocating a single parameter.
 *
 * @param offsets offsets[i] = first element of tensor i; offsets[names.length] = total
 */
record TrainableLayout(String[] names, long[][] shapes, long[] offsets) implements Serializable {

  /** Full fine-tuning: every parameter of the model, in model order. */
  static TrainableLayout full(ModelConfig cfg) {
    return of(HfModels.parameterShapes(cfg));
  }

  /** The trainable tensors of a built model or adapter, in flat order. */
  static TrainableLayout of(io.laketune.nn.ParamStore ps) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (String n : ps.trainableNames()) shapes.put(n, ps.get(n).shape());
    TrainableLayout l = of(shapes);
    if (l.total() != ps.flatValues().length()) {
      throw new IllegalStateException("the model trains " + ps.flatValues().length() + " values but its tensors hold " + l.total());
    }
    return l;
  }

  static TrainableLayout of(Map<String, long[]> shapes) {
    String[] names = shapes.keySet().toArray(new String[0]);
    long[][] s = new long[names.length][];
    long[] off = new long[names.length + 1];
    for (int i = 0; i < names.length; i++) {
      s[i] = shapes.get(names[i]).clone();
      long n = 1;
      for (long d : s[i]) n = Math.multiplyExact(n, d);
      off[i + 1] = Math.addExact(off[i], n);
    }
    return new TrainableLayout(names, s, off);
  }

  long total() {
    return offsets[names.length];
  }

  int size() {
    return names.length;
  }

  long numel(int i) {
    return offsets[i + 1] - offsets[i];
  }

  Map<String, long[]> shapeMap() {
    Map<String, long[]> m = new LinkedHashMap<>();
    for (int i = 0; i < names.length; i++) m.put(names[i], shapes[i]);
    return m;
  }
}
