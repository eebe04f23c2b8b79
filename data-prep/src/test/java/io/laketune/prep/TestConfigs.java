package io.laketune.prep;

import com.typesafe.config.ConfigFactory;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfigParser;
import java.util.List;

/** Configurations for tests: the required keys filled in, the rest from HOCON given by the test. */
public final class TestConfigs {

  private TestConfigs() {}

  /** @param hocon keys relative to laketune.prep, e.g. "format.type = chat" */
  public static PrepConfig config(String tokenizerDir, String hocon) {
    String text = "laketune.prep { input = \"in\", output = \"out\", tokenizer = \""
        + tokenizerDir + "\"\n" + hocon + "\n}";
    return PrepConfigParser.parse(ConfigFactory.parseString(text), List.of());
  }
}
