package io.laketune.train;

import io.laketune.model.HfModels;
import io.laketune.model.Loss;
import io.laketune.peft.LoraModel;
import io.laketune.peft.PeftAdapterFiles;
import io.laketune.quant.ModelQuantizer;
import io.laketune.train.data.PreparedRows;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Loss and perplexity of a model (optionally with a PEFT adapter) over a split of a prepared
 * dataset, as a Spark job: workers evaluate interleaved rows on their cached model, the sums are
 * reduced on the driver. Padding and -100 labels do not count; the result is the token-weighted mean.
 */
public final class DatasetEval {
  private DatasetEval() {}

  public static Loss run(JavaSparkContext sc, String model, Path adapter, ModelQuantizer.Settings quantize,
      String dataset, String split, int workers, int micro) throws IOException {
    float[] values;
    ModelSpec spec;
    Path local = LocalModelDir.of(model);
    if (adapter != null) {
      LoraModel lora = LoraModel.load(local, adapter, DataType.FLOAT, quantize);
      values = lora.model().params().flatValues().toFloatVector();
      spec = new ModelSpec(model, quantize == null ? TrainConfig.Method.LORA : TrainConfig.Method.QLORA,
          PeftAdapterFiles.readConfig(adapter).toJson().toString(), quantize, false, false);
    } else {
      if (quantize != null) throw new IllegalArgumentException("--quantize on a prepared dataset needs an --adapter (4-bit bases are for adapters)");
      values = HfModels.load(local, HfModels.Options.fullTraining()).params().flatValues().toFloatVector();
      spec = new ModelSpec(model, TrainConfig.Method.FULL, null, null, false, false);
    }
    PreparedRows rows = new PreparedRows(dataset, split);
    Broadcast<float[]> bv = sc.broadcast(values);
    try {
      return sc.parallelize(IntStream.range(0, workers).boxed().toList(), workers)
          .map(w -> Worker.evaluate(spec, rows, bv.value(), w, workers, micro))
          .reduce(Loss::plus);
    } finally {
      bv.destroy();
    }
  }
}
