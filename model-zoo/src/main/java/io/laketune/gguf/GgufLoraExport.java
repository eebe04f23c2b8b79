package io.laketune.gguf;

import io.laketune.model.ModelConfig;
import io.laketune.peft.LoraConfig;
import io.laketune.peft.LoraModel;
import io.laketune.peft.LoraTarget;
import io.laketune.peft.PeftAdapterFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes a PEFT LoRA adapter as a GGUF adapter that llama.cpp applies with {@code --lora} over the
 * GGUF of its base model, as convert_lora_to_gguf.py does: general.type = adapter, adapter.type =
 * lora, adapter.lora.alpha, and per adapted weight W the pair {@code <W>.lora_a} = A [r, in] and
 * {@code <W>.lora_b} = B [out, r] (ggml ne {in, r} and {r, out}), so that llama.cpp adds
 * (alpha / r) · B (A x) to W x.
 *
 * <p>B's rows follow W's layout in the base GGUF: for the llama architecture the q/k rows are
 * reordered the same way ({@link GgufArch}). GGUF has one alpha per file and llama.cpp divides it
 * by each tensor's rank; where PEFT's scaling differs from alpha / r (rsLoRA's alpha / sqrt(r),
 * alpha_pattern) the ratio is folded into B, so llama.cpp computes PEFT's scaling · B A exactly.
 *
 * <p>What a llama.cpp adapter cannot hold is refused by name, pointing at a merged export: DoRA
 * (a magnitude vector that rescales W + ΔW), modules_to_save (full replacement weights) and
 * trained biases.
 */
public final class GgufLoraExport {
  private GgufLoraExport() {}

  /**
   * @param base the base model's config (config.json); its weights are not needed
   * @param adapterDir a PEFT adapter directory (adapter_config.json + adapter_model.safetensors)
   */
  public static GgufExport.Summary adapter(ModelConfig base, Path adapterDir, String name, GgufDtype dtype, Path out)
      throws IOException {
    LoraConfig lora = PeftAdapterFiles.readConfig(adapterDir);
    refuseWhatLlamaCppCannotApply(lora, adapterDir);
    LoraModel plan = LoraModel.plan(base, lora);
    Map<String, INDArray> tensors = PeftAdapterFiles.readTensors(adapterDir, plan);
    GgufArch arch = GgufArch.of(base);

    GgufWriter w = new GgufWriter(arch.name);
    w.put(GgufKeys.TYPE, GgufValue.string(GgufKeys.TYPE_ADAPTER));
    if (name != null && !name.isEmpty()) w.put(GgufKeys.NAME, GgufValue.string(name));
    w.put(GgufKeys.ADAPTER_TYPE, GgufValue.string("lora"));
    w.put(GgufKeys.ADAPTER_LORA_ALPHA, GgufValue.float32(lora.alpha()));
    w.put(GgufKeys.QUANTIZATION_VERSION, GgufValue.uint32(GgufKeys.GGML_QUANT_VERSION));
    float alpha = (float) lora.alpha();
    for (LoraTarget t : plan.targets()) {
      String weight = t.module().name() + ".weight";
      String gguf = GgufTensorNames.of(base.modelType(), weight);
      INDArray a = tensors.get(t.aName());
      INDArray b = tensors.get(t.bName());
      // llama.cpp's scale: alpha / rank, or 1 when alpha is 0 (llama_adapter_lora_weight::get_scale)
      double llamaScale = alpha != 0 ? alpha / (float) t.r() : 1.0;
      double ratio = t.scaling() / llamaScale;
      int heads = arch.ropeHeads(weight);
      INDArray bOut = heads > 0 ? GgufArch.interleaveRopeRows(b, heads) : b;
      if (Math.abs(ratio - 1) > 1e-6) bOut = bOut.mul(ratio);
      INDArray bFinal = bOut;
      long[] aShape = a.shape(), bShape = b.shape();
      w.addTensor(gguf + ".lora_a", aShape, dtype.typeOf(gguf + ".lora_a", aShape), () -> TensorRows.of(a));
      w.addTensor(gguf + ".lora_b", bShape, dtype.typeOf(gguf + ".lora_b", bShape), () -> TensorRows.of(bFinal));
    }
    return GgufExport.write(w, out);
  }

  static void refuseWhatLlamaCppCannotApply(LoraConfig lora, Path adapterDir) {
    String feature = null;
    if (lora.useDora()) feature = "DoRA (use_dora = true)";
    else if (!lora.modulesToSave().isEmpty()) feature = "modules_to_save " + lora.modulesToSave();
    else if (!lora.bias().equals("none")) feature = "trained biases (bias = " + lora.bias() + ")";
    if (feature != null) {
      throw new IllegalArgumentException(adapterDir + " uses " + feature
          + ", which a llama.cpp LoRA adapter cannot hold; export the merged model instead:"
          + " laketune export --format gguf --model BASE --adapter " + adapterDir + " --merge --output FILE.gguf");
    }
  }
}
