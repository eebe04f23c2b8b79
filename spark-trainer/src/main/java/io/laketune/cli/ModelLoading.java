package io.laketune.cli;

import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.peft.AdapterSet;
import io.laketune.quant.ModelQuantizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Loads a base model once and the PEFT adapters named on the command line over it. */
final class ModelLoading {
  private ModelLoading() {}

  /**
   * Models by label: "base" alone without adapters, else one per adapter directory, all over one
   * base in memory (its linear weights packed to 4 bits when {@code quantize} is given).
   */
  static Map<String, CausalLm> load(Path model, List<Path> adapters, ModelQuantizer.Settings quantize)
      throws IOException {
    CausalLm base = HfModels.load(model, HfModels.Options.inference());
    if (quantize != null) ModelQuantizer.quantizeFrozenLinears(base.params(), quantize);
    Map<String, CausalLm> out = new LinkedHashMap<>();
    if (adapters == null || adapters.isEmpty()) {
      out.put("base", base);
      return out;
    }
    AdapterSet set = new AdapterSet(base);
    List<String> labels = new ArrayList<>();
    for (Path a : adapters) {
      String label = a.toString();
      if (labels.contains(label)) throw new IllegalArgumentException("--adapter " + a + " is given twice");
      labels.add(label);
      set.add(label, a);
      out.put(label, set.model(label));
    }
    return out;
  }
}
