package io.laketune.model;

import io.laketune.nn.Linear;
import io.laketune.nn.Projection;

/**
 * Decides what each linear module of a model becomes: itself, or wrapped by an adapter (the PEFT
 * layer puts LoRA on the targeted modules through this).
 */
@FunctionalInterface
public interface ProjectionFactory {
  ProjectionFactory PLAIN = base -> base;

  Projection create(Linear base);
}
