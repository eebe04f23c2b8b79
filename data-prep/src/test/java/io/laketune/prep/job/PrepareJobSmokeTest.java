package io.laketune.prep.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import io.laketune.prep.SparkHdfs;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import io.laketune.prep.write.Manifest;
import io.laketune.tokenizer.TokenizerFixtures;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("integration")
class PrepareJobSmokeTest {

  @Test
  void textOnHdfs() throws Exception {
    String tok = SparkHdfs.upload(TokenizerFixtures.modelDir("llama3"), "/models/llama3");
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 100; i++) {
      s.append("{\"text\": \"document number ").append(i).append(" says hello\"}\n");
    }
    s.append("not json\n");
    String in = SparkHdfs.write("/smoke/in.jsonl", s.toString());
    PrepConfig config = PrepConfigParser.parse(ConfigFactory.parseString(
        "laketune.prep { input = \"" + in + "\", output = \"" + SparkHdfs.hdfs() + "/smoke/out\", tokenizer = \""
            + tok + "\", length.seq_len = 64, rejects.max_fraction = 0.5, split.validation_fraction = 0.1 }"), List.of());
    Manifest m = PrepareJob.run(SparkHdfs.spark(), config, System.out);
    System.out.println(m.toJson());
    assertEquals(101, m.counts().recordsRead());
  }
}
