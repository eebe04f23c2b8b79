package io.laketune.ml.examples;

import io.laketune.ml.LaketuneFineTuner;
import io.laketune.ml.LaketuneModel;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The README's example of the Spark ML API, compiled by the build and run by FineTuneExampleTest,
 * which also checks that the README shows exactly the code between the markers.
 */
public final class FineTuneExample {

  private FineTuneExample() {}

  // README example: begin
  static Dataset<Row> fineTuneAndAnswer(Dataset<Row> tickets, String model, String runDir, String savedModel)
      throws java.io.IOException {
    LaketuneFineTuner tuner = new LaketuneFineTuner()
        .setModel(model)                      // a Hugging Face checkpoint directory, any Hadoop FS
        .setOutputDir(runDir)                 // runDir/data: the prepared dataset; runDir/run: the run
        .setFormatType("prompt_completion").setInputCol("question").setCompletionCol("answer")
        .setMethod("lora").setLoraR(8).setLoraAlpha(16).setTargetModules("all-linear")
        .setSeqLen(256).setWorkers(2).setMaxSteps(4)
        .setTrainConf("schedule.type = constant, checkpoint.every_steps = 0");
    PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {tuner}).fit(tickets);
    fitted.write().overwrite().save(savedModel);    // params + the adapter in PEFT layout

    LaketuneModel answerer = (LaketuneModel) PipelineModel.load(savedModel).stages()[0];
    return answerer.setGeneratedCol("generated").setMaxNewTokens(32)
        .transform(tickets.select("question"));    // + loss, perplexity, tokens, generated, generated_tokens
  }
  // README example: end
}
