package io.laketune.peft;

import io.laketune.model.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Several LoRA adapters over one base model in memory, chosen per call (the multi-LoRA serving
 * pattern): the base weights are loaded once and shared; each adapter adds only its own tensors.
 */
public final class AdapterSet {
  private final CausalLm base;
  private final Map<String, LoraModel> adapters = new LinkedHashMap<>();

  public AdapterSet(CausalLm base) {
    this.base = base;
  }

  /** Loads the PEFT adapter directory under {@code name}. */
  public LoraModel add(String name, Path adapterDir) throws IOException {
    if (adapters.containsKey(name)) throw new IllegalArgumentException("an adapter named '" + name + "' is already loaded");
    LoraModel m = LoraModel.attach(base, adapterDir);
    adapters.put(name, m);
    return m;
  }

  /** The model with the named adapter; null selects the bare base model. */
  public CausalLm model(String name) {
    if (name == null) return base;
    LoraModel m = adapters.get(name);
    if (m == null) throw new IllegalArgumentException("no adapter named '" + name + "'; loaded: " + adapters.keySet());
    return m.model();
  }

  public Set<String> names() {
    return adapters.keySet();
  }
}
