package io.laketune.model;

/**
 * A linear module of a model as PEFT sees it: its HF name (e.g. {@code model.layers.0.mlp.up_proj}),
 * features, whether its weight is stored [in, out] (GPT-2's Conv1D) and whether it is the output
 * head (which "all-linear" leaves out).
 */
public record LinearModule(String name, long inFeatures, long outFeatures, boolean fanInFanOut,
    boolean outputHead, boolean hasBias) {}
