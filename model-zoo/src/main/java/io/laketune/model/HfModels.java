package io.laketune.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.laketune.checkpoint.HfCheckpointReader;
import io.laketune.checkpoint.HfCheckpointWriter;
import io.laketune.io.DType;
import io.laketune.nn.Param;
import io.laketune.nn.ParamStore;
import io.laketune.quant.BnbCheckpointReader;
import io.laketune.quant.BnbCheckpointWriter;
import io.laketune.quant.BnbConfig;
import io.laketune.quant.ModelQuantizer;
import io.laketune.quant.QuantizedTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Builds models from HF checkpoint directories and saves them back in the same layout and names,
 * so that transformers loads what we save.
 */
public final class HfModels {
  private HfModels() {}

  /**
   * How to hold a loaded model.
   *
   * @param computeType FLOAT (DOUBLE for gradient checks)
   * @param frozenStorage stored type of frozen weights: the compute type, or BFLOAT16 to halve memory
   * @param trainable which parameters get gradients (and live in the flat trainable buffer)
   */
  public record Options(DataType computeType, DataType frozenStorage, Predicate<String> trainable) {
    /** fp32, everything frozen: evaluation and generation. */
    public static Options inference() {
      return new Options(DataType.FLOAT, DataType.FLOAT, n -> false);
    }

    /** fp32, every parameter trainable: full fine-tuning. */
    public static Options fullTraining() {
      return new Options(DataType.FLOAT, DataType.FLOAT, n -> true);
    }
  }

  public static Map<String, long[]> parameterShapes(ModelConfig cfg) {
    if (cfg instanceof LlamaConfig l) return LlamaModel.parameterShapes(l);
    return Gpt2Model.parameterShapes((Gpt2Config) cfg);
  }

  public static List<LinearModule> linearModules(ModelConfig cfg) {
    if (cfg instanceof LlamaConfig l) return LlamaModel.linearModules(l);
    return Gpt2Model.linearModules((Gpt2Config) cfg);
  }

  /** A model with zeroed parameters. */
  public static CausalLm create(ModelConfig cfg, Options o) {
    return create(cfg, ParamStore.allocate(parameterShapes(cfg), o.trainable(), o.computeType(), o.frozenStorage()),
        ProjectionFactory.PLAIN);
  }

  /** A model over the given parameters (which may include adapter parameters). */
  public static CausalLm create(ModelConfig cfg, ParamStore ps, ProjectionFactory projections) {
    if (cfg instanceof LlamaConfig l) return new LlamaModel(l, ps, projections);
    return new Gpt2Model((Gpt2Config) cfg, ps, projections);
  }

  /**
   * Loads a checkpoint. A bitsandbytes 4-bit checkpoint (config.json quantization_config) is read as
   * transformers saves it: each 4-bit weight becomes a packed frozen parameter, or, when {@code o}
   * makes it trainable, a dequantised fp32 one.
   */
  public static CausalLm load(Path dir, Options o) throws IOException {
    try (HfCheckpointReader ckpt = HfCheckpointReader.open(dir)) {
      ModelConfig cfg = config(ckpt);
      CausalLm model = create(cfg, o);
      readWeights(ckpt, cfg, model.params());
      return model;
    }
  }

  /** The parsed config.json of an open checkpoint. */
  public static ModelConfig config(HfCheckpointReader ckpt) {
    return ModelConfig.parse(ckpt.config(), ckpt.dir().resolve("config.json").toString());
  }

  /**
   * Reads every base parameter of {@code cfg} from the checkpoint into the store (which may hold
   * more, such as adapter parameters). A missing, unexpected or misshapen tensor is an error
   * naming it.
   */
  public static void readWeights(HfCheckpointReader ckpt, ModelConfig cfg, ParamStore ps) throws IOException {
    Path dir = ckpt.dir();
    boolean bnb = BnbConfig.isBnb4bit(ckpt.config(), dir.resolve("config.json").toString());
    Map<String, long[]> base = parameterShapes(cfg);
    Map<String, String> byCanonical = new LinkedHashMap<>();
    List<String> unexpected = new ArrayList<>();
    for (String name : ckpt.names()) {
      if (ignored(cfg, name)) continue;
      if (bnb && isQuantState(ckpt, name)) continue;
      String canonical = canonicalName(cfg, name);
      if (!base.containsKey(canonical)) unexpected.add(name);
      else byCanonical.put(canonical, name);
    }
    if (!unexpected.isEmpty()) {
      throw new IOException(dir + " holds tensors this " + cfg.modelType() + " model does not have: "
          + unexpected.subList(0, Math.min(5, unexpected.size()))
          + (unexpected.size() > 5 ? " and " + (unexpected.size() - 5) + " more" : "")
          + (unexpected.stream().anyMatch(n -> BnbCheckpointReader.ownerOf(n) != null)
              ? "; they look like bitsandbytes 4-bit state, so config.json needs its quantization_config"
              : "; check that config.json matches the weights"));
    }
    for (String name : base.keySet()) {
      Param p = ps.get(name);
      String file = byCanonical.get(name);
      if (file == null) {
        throw new IOException(dir + " has no tensor '" + name + "' that config.json requires");
      }
      if (bnb && BnbCheckpointReader.isQuantized(ckpt, file)) {
        loadQuantized(p, ckpt, file);
        continue;
      }
      long[] shape = ckpt.info(file).shape();
      if (!Arrays.equals(shape, p.shape())) {
        throw new IOException(dir + ": tensor '" + file + "' has shape " + Arrays.toString(shape)
            + " but config.json implies " + Arrays.toString(p.shape()));
      }
      p.set(ckpt.read(file, p.stored().dataType()));
    }
  }

  /** A key of a 4-bit weight's quant state (the weight itself is matched to its parameter). */
  private static boolean isQuantState(HfCheckpointReader ckpt, String name) {
    String owner = BnbCheckpointReader.ownerOf(name);
    return owner != null && ckpt.contains(owner) && BnbCheckpointReader.isQuantized(ckpt, owner);
  }

  /** GPT-2 Conv1D weights are quantised transposed ([out, in]), as transformers does. */
  private static void loadQuantized(Param p, HfCheckpointReader ckpt, String file) throws IOException {
    QuantizedTensor q = BnbCheckpointReader.read(ckpt, file);
    boolean transposed = ModelQuantizer.isConv1dWeight(p.name());
    long[] want = p.shape();
    if (transposed) want = new long[] {want[1], want[0]};
    if (!Arrays.equals(q.shape(), want)) {
      throw new IOException(ckpt.dir() + ": 4-bit tensor '" + file + "' has quant_state shape "
          + Arrays.toString(q.shape()) + " but config.json implies " + Arrays.toString(want)
          + "; check that config.json matches the weights");
    }
    if (p.trainable()) {
      INDArray v = q.dequantize();
      p.set(transposed ? v.transpose() : v);
    } else {
      p.pack(q, transposed);
    }
  }

  /** Tensors HF checkpoints may carry that are derived, not parameters. */
  static boolean ignored(ModelConfig cfg, String name) {
    if (name.endsWith(".rotary_emb.inv_freq")) return true;
    if (cfg.tieWordEmbeddings() && name.equals("lm_head.weight")) return true;
    return cfg instanceof Gpt2Config && (name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias"));
  }

  /** GPT-2 checkpoints on the hub name weights without the {@code transformer.} prefix. */
  static String canonicalName(ModelConfig cfg, String name) {
    if (cfg instanceof Gpt2Config && !name.startsWith("transformer.")) return "transformer." + name;
    return name;
  }

  /**
   * Saves config.json (torch_dtype updated) and the weights with HF names, sharded above
   * {@code maxShardBytes}, plus copies of {@code extraFiles} (tokenizer files). Packed 4-bit weights
   * are written as transformers saves bitsandbytes 4-bit models, with a quantization_config.
   */
  public static void save(CausalLm model, Path dir, DType storeAs, long maxShardBytes, List<Path> extraFiles)
      throws IOException {
    save(model, dir, storeAs, maxShardBytes, extraFiles, Map.of());
  }

  /** As above, with {@code metadata} added to every weights file's "__metadata__" (string values). */
  public static void save(CausalLm model, Path dir, DType storeAs, long maxShardBytes, List<Path> extraFiles,
      Map<String, String> metadata) throws IOException {
    ObjectNode config = model.config().json().deepCopy();
    config.put("torch_dtype", switch (storeAs) {
      case BF16 -> "bfloat16";
      case F16 -> "float16";
      default -> "float32";
    });
    LinkedHashMap<String, INDArray> tensors = new LinkedHashMap<>();
    Map<String, DType> exactTypes = new HashMap<>();
    QuantizedTensor first = null;
    for (String name : parameterShapes(model.config()).keySet()) {
      Param p = model.params().get(name);
      if (p.packed() == null) {
        tensors.put(p.name(), p.stored());
      } else if (p.packed() instanceof QuantizedTensor q) {
        BnbCheckpointWriter.add(p.name(), q, tensors, exactTypes);
        if (first == null) first = q;
      } else {
        throw new IllegalArgumentException("parameter '" + p.name() + "' is packed as "
            + p.packed().getClass().getSimpleName() + ", which has no checkpoint format");
      }
    }
    if (first != null) {
      config.set(BnbConfig.KEY, BnbConfig.build(first.type(), first.isDoubleQuant(), config.get(BnbConfig.KEY)));
    } else {
      config.remove(BnbConfig.KEY);
    }
    HfCheckpointWriter.write(dir, config, tensors, storeAs, exactTypes, maxShardBytes, extraFiles, metadata);
  }
}
