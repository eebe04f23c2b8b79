package io.laketune.prep.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.laketune.prep.config.PrepConfig.FormatType;
import io.laketune.prep.config.PrepConfig.PackMode;
import io.laketune.prep.config.PrepConfig.TrainOn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepConfigParserTest {

  private static final String MINIMAL =
      "laketune.prep { input = \"in.jsonl\", output = out, tokenizer = tok }\n";

  private static PrepConfig parse(String hocon, String... sets) {
    return PrepConfigParser.parse(ConfigFactory.parseString(hocon), List.of(sets));
  }

  private static String error(String hocon, String... sets) {
    return assertThrows(IllegalArgumentException.class, () -> parse(hocon, sets)).getMessage();
  }

  @Test
  void defaultsComeFromReferenceConf() {
    PrepConfig c = parse(MINIMAL);
    assertEquals(List.of("in.jsonl"), c.input());
    assertEquals(FormatType.TEXT, c.format().type());
    assertEquals(TrainOn.ALL, c.labels().trainOn());
    assertEquals(2048, c.length().seqLen());
    assertEquals(16L << 20, c.length().maxRecordBytes());
    assertEquals(PackMode.GREEDY, c.pack().mode());
    assertEquals("messages", c.format().field("messages"));
    assertTrue(c.resolvedJson().contains("\"seq_len\":2048"), c.resolvedJson());
  }

  @Test
  void autoTrainsOnCompletionsForInstructionData() {
    PrepConfig c = parse(MINIMAL + "laketune.prep.format.type = chat\n"
        + "laketune.prep.format.template_args { enable_thinking = false }");
    assertEquals(TrainOn.COMPLETION, c.labels().trainOn());
    assertEquals(false, c.format().templateArgs().get("enable_thinking"));
  }

  @Test
  void setOverridesTheFile() {
    PrepConfig c = parse(MINIMAL, "length.seq_len=4096", "laketune.prep.pack.mode=best_fit");
    assertEquals(4096, c.length().seqLen());
    assertEquals(PackMode.BEST_FIT, c.pack().mode());
  }

  @Test
  void unknownKeyIsNamedWithASuggestion() {
    String message = error(MINIMAL + "laketune.prep.length.seqlen = 10");
    assertTrue(message.startsWith("Unknown key laketune.prep.length.seqlen"), message);
    assertTrue(message.contains("did you mean length.seq_len?"), message);
    assertEquals(1, message.lines().count());
  }

  @Test
  void badValuesNameTheKeyAndWhatIsAllowed() {
    assertEquals(
        "laketune.prep.format.type (String: 2) = \"parquet\" is not allowed: it must be one of "
            + "text, prompt_completion, chat, alpaca.",
        error(MINIMAL + "laketune.prep.format.type = parquet"));
    String seqLen = error(MINIMAL + "laketune.prep.length.seq_len = -3");
    assertTrue(seqLen.startsWith("laketune.prep.length.seq_len"), seqLen);
    assertTrue(seqLen.contains("an integer from 2"), seqLen);
    String fraction = error(MINIMAL, "split.validation_fraction=1.5");
    assertTrue(fraction.contains("below 1.0"), fraction);
    String section = error(MINIMAL + "laketune.prep.format = chat");
    assertTrue(section.contains("is a section, not a value"), section);
    assertTrue(error("laketune.prep { output = o, tokenizer = t }").contains("input"));
  }

  @Test
  void textCannotTrainOnCompletionOnly() {
    assertTrue(error(MINIMAL + "laketune.prep.labels.train_on = completion")
        .contains("format.type = text has no completion"));
  }

  @Test
  void missingFileIsOneSentence(@TempDir Path dir) throws Exception {
    String message = assertThrows(IllegalArgumentException.class,
        () -> PrepConfigParser.load(dir.resolve("nope.conf"), List.of())).getMessage();
    assertTrue(message.contains("nope.conf does not exist"), message);
    Path file = dir.resolve("run.conf");
    Files.writeString(file, MINIMAL + "laketune.prep.dedup = maybe\n");
    String bad = assertThrows(IllegalArgumentException.class,
        () -> PrepConfigParser.load(file, List.of())).getMessage();
    assertTrue(bad.contains("run.conf: 2) = \"maybe\" is not allowed: it must be true or false."), bad);
  }

  private static final String TOOLS = "laketune.prep { output = out, tokenizer = tok }\n";

  @Test
  void tableSourcesAreCheckedAgainstTheInputAndTheirVersionKeys() {
    PrepConfig delta = parse(TOOLS + "laketune.prep { input = \"/lake/t\", source { format = delta, version = 3,"
        + " filter = \"lang = 'en'\", key = id } }");
    assertEquals(PrepConfig.SourceFormat.DELTA, delta.source().format());
    assertEquals(3L, delta.source().main().version());
    assertEquals("lang = 'en'", delta.source().filter());
    assertEquals(PrepConfig.SourceFormat.JSONL, parse(MINIMAL).source().format());

    String twoPaths = error(TOOLS + "laketune.prep { input = [a, b], source.format = delta }");
    assertTrue(twoPaths.startsWith("laketune.prep.input (") && twoPaths.endsWith(
        ") has 2 paths: source.format = delta reads one table, give its directory."), twoPaths);
    assertTrue(error(TOOLS + "laketune.prep { input = a, source { format = iceberg, version = 2 } }")
        .endsWith("is set, but it is a Delta table's version and source.format is iceberg: use snapshot_id or as_of."));
    assertTrue(error(TOOLS + "laketune.prep { input = a, source { format = delta, as_of = \"2026-01-01\" } }")
        .endsWith("is set, but it is an Iceberg table's snapshot and source.format is delta: use version or timestamp."));
    assertTrue(error(TOOLS + "laketune.prep { input = a, source { format = delta, version = 1, timestamp = x } }")
        .contains("is set together with source.version: give one of them"));
    assertTrue(error(TOOLS + "laketune.prep { input = a, source { format = parquet, version = 1 } }")
        .endsWith("source.format is parquet: it has no versions."));
    assertTrue(error(TOOLS + "laketune.prep { input = a, source { format = table, table = crm.t } }")
        .endsWith("is set, but source.format = table reads source.table: remove input."));
    assertTrue(error(TOOLS + "laketune.prep.source.format = table").contains("source.table"));
    assertTrue(error(TOOLS + "laketune.prep { input = a, source.filter = \"x > 1\" }")
        .endsWith("is set, but it applies to table sources, not to JSONL lines."));
    assertTrue(error(TOOLS + "laketune.prep { input = a, source.format = dataframe }").contains("one of jsonl,"
        + " parquet, delta, iceberg, table, sql."));
  }

  @Test
  void aQueryReadsPinnedViewsWhoseKeysAreChecked() {
    PrepConfig sql = parse(TOOLS + "laketune.prep.source { format = sql, query = \"SELECT * FROM u JOIN c\","
        + " views { u { format = iceberg, path = \"/lake/u\", snapshot_id = 7 }, c { format = table, table = crm.c } } }");
    assertEquals(List.of("c", "u"), List.copyOf(sql.source().views().keySet()));
    assertEquals(7L, sql.source().views().get("u").snapshotId());
    assertEquals("crm.c", sql.source().views().get("c").table());

    String query = "laketune.prep.source { format = sql, query = \"SELECT 1\", ";
    String unknown = error(TOOLS + query + "views.u { format = delta, paths = x } }");
    assertTrue(unknown.startsWith("laketune.prep.source.views.u.paths (") && unknown.endsWith(
        ") is not a key of a view; a view has format, path, table, version, timestamp, snapshot_id, as_of."), unknown);
    assertTrue(error(TOOLS + query + "views.u { path = x } }").contains("has no format"));
    assertTrue(error(TOOLS + query + "views.u { format = delta, table = x } }").contains("give its path (and no table)"));
    assertTrue(error(TOOLS + query + "version = 3 }").endsWith("is set, but a query has no version of its own: pin the"
        + " tables it reads in source.views."));
    assertTrue(error(TOOLS + "laketune.prep.source { format = sql }").contains("source.query"));
  }
}
