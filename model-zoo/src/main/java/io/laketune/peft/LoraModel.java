package io.laketune.peft;

import io.laketune.checkpoint.HfCheckpointReader;
import io.laketune.model.CausalLm;
import io.laketune.model.HfModels;
import io.laketune.model.LinearModule;
import io.laketune.model.ModelConfig;
import io.laketune.model.ProjectionFactory;
import io.laketune.nn.Linear;
import io.laketune.nn.Param;
import io.laketune.nn.ParamStore;
import io.laketune.quant.ModelQuantizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A base model with LoRA adapters on the modules a {@link LoraConfig} targets, as PEFT's
 * get_peft_model builds it: adapter parameters (and modules_to_save, and biases when asked) are
 * trainable and live in the flat trainable buffer; every base weight is frozen and may be stored
 * as bf16 (or 4-bit).
 */
public final class LoraModel {
  private static final Pattern LAYER_INDEX = Pattern.compile(".*?\\.(?:layers|h)\\.(\\d+)\\.");

  private final ModelConfig base;
  private final LoraConfig lora;
  private final List<LoraTarget> targets;
  private final Set<String> trainable;
  private final AdapterState state = new AdapterState();
  private final Map<String, LoraLinear> layers = new LinkedHashMap<>();
  private CausalLm model;

  private LoraModel(ModelConfig base, LoraConfig lora) {
    this.base = base;
    this.lora = lora;
    this.targets = resolveTargets(base, lora);
    this.trainable = trainableNames(base, lora, targets);
  }

  /** The targets and trainable set of {@code lora} on a model of config {@code base}. */
  public static LoraModel plan(ModelConfig base, LoraConfig lora) {
    return new LoraModel(base, lora);
  }

  /**
   * Loads a base checkpoint and puts new adapters on it, initialised as {@code lora.init()} says
   * from {@code seed}. PiSSA also rewrites the targeted base weights to their residual.
   */
  public static LoraModel create(Path baseDir, LoraConfig lora, DataType frozenStorage, long seed) throws IOException {
    return create(baseDir, lora, frozenStorage, null, seed);
  }

  /**
   * As {@link #create(Path, LoraConfig, DataType, long)}, with the frozen linear weights packed to
   * 4 bits when {@code quantize} is given (QLoRA). DoRA magnitudes start from the dequantised
   * weights, as PEFT computes them over a bitsandbytes layer; PiSSA splits the full-precision
   * weight first and packs its residual.
   */
  public static LoraModel create(Path baseDir, LoraConfig lora, DataType frozenStorage,
      ModelQuantizer.Settings quantize, long seed) throws IOException {
    try (HfCheckpointReader ckpt = HfCheckpointReader.open(baseDir)) {
      LoraModel m = plan(HfModels.config(ckpt), lora);
      m.build(DataType.FLOAT, frozenStorage);
      HfModels.readWeights(ckpt, m.base, m.model.params());
      boolean pissa = lora.init().equals("pissa");
      if (!pissa && quantize != null) ModelQuantizer.quantizeFrozenLinears(m.model.params(), quantize);
      m.initialise(seed);
      if (pissa && quantize != null) ModelQuantizer.quantizeFrozenLinears(m.model.params(), quantize);
      return m;
    }
  }

  /** Loads a base checkpoint and a PEFT adapter directory written by PEFT or by {@link #save}. */
  public static LoraModel load(Path baseDir, Path adapterDir, DataType frozenStorage) throws IOException {
    return load(baseDir, adapterDir, frozenStorage, null);
  }

  /** As {@link #load(Path, Path, DataType)}, packing the frozen linear weights when asked (QLoRA). */
  public static LoraModel load(Path baseDir, Path adapterDir, DataType frozenStorage,
      ModelQuantizer.Settings quantize) throws IOException {
    LoraConfig lora = PeftAdapterFiles.readConfig(adapterDir);
    try (HfCheckpointReader ckpt = HfCheckpointReader.open(baseDir)) {
      LoraModel m = plan(HfModels.config(ckpt), lora);
      m.build(DataType.FLOAT, frozenStorage);
      HfModels.readWeights(ckpt, m.base, m.model.params());
      if (quantize != null) ModelQuantizer.quantizeFrozenLinears(m.model.params(), quantize);
      PeftAdapterFiles.readWeights(adapterDir, m);
      return m;
    }
  }

  /** Allocates parameters (base + adapter) and assembles the model; values are zero. */
  public CausalLm build(DataType computeType, DataType frozenStorage) {
    Map<String, long[]> shapes = new LinkedHashMap<>(HfModels.parameterShapes(base));
    shapes.putAll(adapterShapes());
    return assemble(ParamStore.allocate(shapes, trainable::contains, computeType, frozenStorage));
  }

  /**
   * Loads an adapter directory over a base model already in memory, sharing its frozen weights:
   * only the adapter's own tensors (and its modules_to_save copies and biases) are allocated.
   */
  public static LoraModel attach(CausalLm baseModel, Path adapterDir) throws IOException {
    LoraModel m = attach(baseModel, PeftAdapterFiles.readConfig(adapterDir));
    PeftAdapterFiles.readWeights(adapterDir, m);
    return m;
  }

  /**
   * New adapters of {@code lora} over a base model in memory, sharing its frozen weights. Adapter
   * tensors start at zero and modules_to_save / trained biases at the base's values; the flat
   * trainable layout is the same as {@link #build}'s, so trainable vectors move between the two.
   */
  public static LoraModel attach(CausalLm baseModel, LoraConfig lora) {
    LoraModel m = plan(baseModel.config(), lora);
    Map<String, long[]> all = new LinkedHashMap<>(HfModels.parameterShapes(m.base));
    all.putAll(m.adapterShapes());
    Map<String, long[]> own = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : all.entrySet()) if (m.trainable.contains(e.getKey())) own.put(e.getKey(), e.getValue());
    DataType type = baseModel.params().computeType();
    ParamStore ownStore = ParamStore.allocate(own, n -> true, type, type);
    for (String name : own.keySet()) {
      Param base = baseModel.params().find(name);
      if (base != null) ownStore.get(name).set(base.value());
    }
    m.assemble(ParamStore.sharing(baseModel.params(), ownStore));
    return m;
  }

  private CausalLm assemble(ParamStore ps) {
    Map<String, LoraTarget> byModule = new HashMap<>();
    for (LoraTarget t : targets) byModule.put(t.module().name(), t);
    ProjectionFactory factory = linear -> wrap(linear, byModule.get(linear.moduleName()), ps);
    model = HfModels.create(base, ps, factory);
    return model;
  }

  private io.laketune.nn.Projection wrap(Linear linear, LoraTarget t, ParamStore ps) {
    if (t == null) return linear;
    LoraLinear l = new LoraLinear(linear, ps.get(t.aName()), ps.get(t.bName()),
        lora.useDora() ? ps.get(t.magnitudeName()) : null, t.scaling(), lora.dropout(), layers.size(), state);
    layers.put(t.module().name(), l);
    return l;
  }

  /** Every tensor the adapter trains, with its shape: lora_A/B (and DoRA magnitudes), trained biases, modules_to_save copies. */
  public Map<String, long[]> trainableShapes() {
    Map<String, long[]> all = new LinkedHashMap<>(HfModels.parameterShapes(base));
    all.putAll(adapterShapes());
    all.keySet().retainAll(trainable);
    return all;
  }

  /** lora_A [r, in], lora_B [out, r] and DoRA magnitudes [out], in target order. */
  public Map<String, long[]> adapterShapes() {
    Map<String, long[]> s = new LinkedHashMap<>();
    for (LoraTarget t : targets) {
      s.put(t.aName(), new long[] {t.r(), t.module().inFeatures()});
      s.put(t.bName(), new long[] {t.module().outFeatures(), t.r()});
      if (lora.useDora()) s.put(t.magnitudeName(), new long[] {t.module().outFeatures()});
    }
    return s;
  }

  static List<LoraTarget> resolveTargets(ModelConfig base, LoraConfig lora) {
    List<LinearModule> modules = HfModels.linearModules(base);
    List<String> names = lora.targetModules();
    if (names.equals(List.of(LoraConfig.ALL_LINEAR))) {
      Set<String> suffixes = new LinkedHashSet<>();
      for (LinearModule m : modules) if (!m.outputHead()) suffixes.add(m.name().substring(m.name().lastIndexOf('.') + 1));
      names = new ArrayList<>(suffixes);
    }
    List<LoraTarget> out = new ArrayList<>();
    for (LinearModule m : modules) {
      boolean hit = lora.targetRegex() != null ? Pattern.matches(lora.targetRegex(), m.name())
          : names.stream().anyMatch(t -> m.name().equals(t) || m.name().endsWith("." + t));
      if (!hit) continue;
      if (lora.layersToTransform() != null) {
        Matcher x = LAYER_INDEX.matcher(m.name());
        if (!x.lookingAt() || !lora.layersToTransform().contains(Integer.parseInt(x.group(1)))) continue;
      }
      int r = pattern(lora.rankPattern(), m.name(), lora.r());
      double alpha = pattern(lora.alphaPattern(), m.name(), lora.alpha());
      double scaling = lora.useRslora() ? alpha / Math.sqrt(r) : alpha / r;
      out.add(new LoraTarget(m, r, alpha, scaling));
    }
    if (out.isEmpty()) {
      List<String> available = modules.stream().map(LinearModule::name).limit(8).toList();
      throw new IllegalArgumentException("target_modules " + (lora.targetRegex() != null ? lora.targetRegex() : names)
          + " matched no module of this " + base.modelType() + " model; its linear modules are named like " + available);
    }
    return out;
  }

  /** PEFT's get_pattern_key: the first key that matches the end of the module name after a dot. */
  static <T> T pattern(Map<String, T> patterns, String module, T fallback) {
    for (Map.Entry<String, T> e : patterns.entrySet()) {
      if (Pattern.compile("(^|.*\\.)" + e.getKey() + "$").matcher(module).matches()) return e.getValue();
    }
    return fallback;
  }

  static Set<String> trainableNames(ModelConfig base, LoraConfig lora, List<LoraTarget> targets) {
    Set<String> names = new LinkedHashSet<>();
    for (LoraTarget t : targets) {
      names.add(t.aName());
      names.add(t.bName());
      if (lora.useDora()) names.add(t.magnitudeName());
    }
    Set<String> targeted = new LinkedHashSet<>();
    for (LoraTarget t : targets) targeted.add(t.module().name());
    Map<String, long[]> baseShapes = HfModels.parameterShapes(base);
    for (String p : baseShapes.keySet()) {
      String module = p.substring(0, p.lastIndexOf('.'));
      if (p.endsWith(".bias") && (lora.bias().equals("all") || lora.bias().equals("lora_only") && targeted.contains(module))) {
        names.add(p);
      }
    }
    for (String save : lora.modulesToSave()) {
      boolean found = false;
      for (String p : baseShapes.keySet()) {
        String module = p.substring(0, p.lastIndexOf('.'));
        if (module.endsWith(save)) {
          names.add(p);
          found = true;
        }
      }
      if (!found) {
        throw new IllegalArgumentException("modules_to_save '" + save + "' matches no module of this "
            + base.modelType() + " model" + (base.tieWordEmbeddings() && save.equals("lm_head")
                ? " (its lm_head is tied to embed_tokens: save embed_tokens instead)" : ""));
      }
    }
    return names;
  }

  /** PEFT's initialisation: A kaiming-uniform(a=sqrt 5) or N(0, 1/r), B zero; or PiSSA from the SVD. */
  public void initialise(long seed) {
    Nd4j.getRandom().setSeed(seed);
    for (LoraTarget t : targets) {
      Param a = model.params().get(t.aName());
      Param b = model.params().get(t.bName());
      long in = t.module().inFeatures();
      switch (lora.init()) {
        case "true" -> {
          double bound = 1.0 / Math.sqrt(in);
          a.set(Nd4j.rand(DataType.DOUBLE, a.shape()).muli(2 * bound).subi(bound));
          b.set(Nd4j.zeros(DataType.DOUBLE, b.shape()));
        }
        case "gaussian" -> {
          a.set(Nd4j.randn(DataType.DOUBLE, a.shape()).muli(1.0 / t.r()));
          b.set(Nd4j.zeros(DataType.DOUBLE, b.shape()));
        }
        case "false" -> {
          double boundA = 1.0 / Math.sqrt(in), boundB = 1.0 / Math.sqrt(t.r());
          a.set(Nd4j.rand(DataType.DOUBLE, a.shape()).muli(2 * boundA).subi(boundA));
          b.set(Nd4j.rand(DataType.DOUBLE, b.shape()).muli(2 * boundB).subi(boundB));
        }
        case "pissa" -> pissa(t, a, b);
        default -> throw new IllegalStateException(lora.init());
      }
      if (lora.useDora()) {
        // m starts at ||W + s B A|| per row, so that the adapted layer starts equal to the base
        LoraLinear l = layers.get(t.module().name());
        INDArray w = l.mergedWeightWithoutMagnitude();
        model.params().get(t.magnitudeName()).set(w.norm2(1));
      }
    }
  }

  /**
   * PiSSA (PEFT's "pissa"): with W = U S V^T, A = sqrt(S_r / s) V_r^T, B = U_r sqrt(S_r / s), and
   * the base keeps the residual W - s B A.
   */
  private void pissa(LoraTarget t, Param a, Param b) {
    Param w = model.params().get(t.module().name() + ".weight");
    INDArray weight = w.value().castTo(DataType.DOUBLE);
    if (t.module().fanInFanOut()) weight = weight.transpose().dup('c');
    INDArray[] svd = Svd.thin(weight);
    int r = t.r();
    INDArray sr = svd[0].get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, r)).div(t.scaling());
    INDArray root = org.nd4j.linalg.ops.transforms.Transforms.sqrt(sr, true);
    INDArray ur = svd[1].get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, r));
    INDArray vr = svd[2].get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, r));
    INDArray newA = vr.transpose().mulColumnVector(root.reshape(r, 1));
    INDArray newB = ur.mulRowVector(root);
    a.set(newA);
    b.set(newB);
    INDArray residual = weight.sub(newB.mmul(newA).muli(t.scaling()));
    w.set(t.module().fanInFanOut() ? residual.transpose().dup('c') : residual);
  }

  public CausalLm model() {
    return model;
  }

  public ModelConfig baseConfig() {
    return base;
  }

  public LoraConfig config() {
    return lora;
  }

  public List<LoraTarget> targets() {
    return targets;
  }

  public AdapterState state() {
    return state;
  }

  /** Trainable parameter names: adapters, and the modules_to_save / biases the config asks for. */
  public Set<String> trainableNames() {
    return trainable;
  }

  /** The adapted layer of a module (for merging), or null. */
  public LoraLinear layer(String module) {
    return layers.get(module);
  }

  /** Merges every adapter into its base weight in place ({@link LoraLinear#merge}). */
  public void merge() {
    layers.values().forEach(LoraLinear::merge);
  }

  public void unmerge() {
    layers.values().forEach(LoraLinear::unmerge);
  }

  /**
   * A plain fp32 model whose weights are the base with every adapter folded in (modules_to_save
   * and trained biases included): what merge_and_unload gives. A 4-bit or bf16 base is expanded
   * first, so the merged weights are dequantised base + delta, kept in fp32 (re-quantising them
   * would round the delta away).
   */
  public CausalLm mergedModel() {
    CausalLm out = HfModels.create(base, HfModels.Options.inference());
    for (String name : HfModels.parameterShapes(base).keySet()) {
      out.params().get(name).set(model.params().get(name).value());
    }
    for (Map.Entry<String, LoraLinear> e : layers.entrySet()) {
      LoraLinear l = e.getValue();
      out.params().get(e.getKey() + ".weight").set(l.merged() ? l.base().weight().value() : l.mergedWeight());
    }
    return out;
  }

  /** Writes the PEFT adapter directory (fp32 weights). */
  public void save(Path dir) throws IOException {
    PeftAdapterFiles.write(this, dir, io.laketune.io.DType.F32);
  }

  /** "trainable params: 1,024 || all params: 9,000 || trainable%: 11.3778", as PEFT prints it. */
  public String trainableSummary() {
    long t = model.params().trainableCount();
    long all = model.params().totalCount();
    return String.format("trainable params: %,d || all params: %,d || trainable%%: %.4f", t, all, 100.0 * t / all);
  }
}
