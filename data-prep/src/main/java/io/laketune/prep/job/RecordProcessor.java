package io.laketune.prep.job;

import com.fasterxml.jackson.databind.JsonNode;
import io.laketune.prep.BadRecordException;
import io.laketune.prep.RejectReason;
import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfig.LengthPolicy;
import io.laketune.prep.format.RecordFormat;
import io.laketune.prep.format.Rendered;
import io.laketune.prep.read.Chunk;
import io.laketune.prep.read.ChunkLines;
import io.laketune.prep.read.JsonLine;
import io.laketune.prep.split.ContentHash;
import io.laketune.prep.split.SplitAssigner;
import io.laketune.prep.tokenize.ExampleTokenizer;
import io.laketune.prep.tokenize.TokenizedDoc;
import io.laketune.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The per-line work of the job, in one task: read a chunk's lines and turn each into an {@link
 * Outcome} — parse, render, tokenize, mask, apply the length policy, hash for dedup and split.
 * Lazy: one line at a time, so a task's memory does not grow with its chunk.
 */
final class RecordProcessor {

  /** Characters of a rejected line shown in rejects/. */
  static final int EXCERPT = 200;

  private final PrepConfig config;
  private final RecordFormat format;
  private final ExampleTokenizer tokenizer;
  private final JsonLine json = new JsonLine();
  /** The tenant of the record in hand, once known ("" until then): its reject carries it. */
  private String recordTenant = "";

  RecordProcessor(PrepConfig config, Tokenizer tokenizer) {
    this.config = config;
    this.format = RecordFormat.of(config, tokenizer);
    this.tokenizer = new ExampleTokenizer(tokenizer, config);
  }

  /**
   * Outcomes of the chunk's lines, in order; the stream is closed at the end.
   *
   * @param fileTenant the tenant of every line of the chunk's file (tenant.inputs), or ""
   */
  Iterator<Outcome> process(Chunk chunk, String fileTenant, ChunkLines lines, Progress.Counters counters) {
    return new Iterator<>() {
      private Outcome next;
      private boolean done;

      @Override
      public boolean hasNext() {
        if (next == null && !done) {
          try {
            if (lines.next()) {
              startRecord(fileTenant);
              next = outcome(chunk, lines);
              counters.record(next);
            } else {
              done = true;
              lines.close();
            }
          } catch (IOException e) {
            throw new UncheckedIOException("reading " + chunk.file().path() + " failed near line "
                + (lines.lineNumber() + 1) + ": " + e.getMessage(), e);
          }
        }
        return next != null;
      }

      @Override
      public Outcome next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        Outcome out = next;
        next = null;
        return out;
      }
    };
  }

  private Outcome outcome(Chunk chunk, ChunkLines lines) {
    String file = chunk.file().path();
    long line = lines.lineNumber();
    if (lines.tooLarge()) {
      return new Outcome.Rejected(file, line, RejectReason.RECORD_TOO_LARGE.label(),
          "the line has " + lines.size() + " bytes, more than length.max_record_bytes = "
              + config.length().maxRecordBytes(), excerpt(lines), null, recordTenant);
    }
    String text = null;
    try {
      text = json.decode(lines.bytes(), lines.offset(), lines.length() - lines.offset());
      return example(chunk.file().index(), line, json.parse(text));
    } catch (BadRecordException e) {
      String shown = text != null ? text.substring(0, Math.min(EXCERPT, text.length())) : excerpt(lines);
      return new Outcome.Rejected(file, line, e.reason().label(), e.detail(), shown, null, recordTenant);
    }
  }

  /** A new record begins; its tenant, when its input names it (tenant.inputs), or "". */
  void startRecord(String inputTenant) {
    recordTenant = inputTenant;
  }

  /** The tenant of the record in hand as far as it is known: see Outcome.Rejected. */
  String recordTenant() {
    return recordTenant;
  }

  /**
   * One record's outcome once it is a JSON object (a parsed line or a converted table row).
   *
   * @param inputHi with inputLo, the record's input order (see Outcome.Example)
   */
  Outcome example(long inputHi, long inputLo, JsonNode record) throws BadRecordException {
    if (!config.tenantColumn().isEmpty()) {
      recordTenant = tenant(record);
    }
    String tenant = recordTenant;
    long splitHash = config.split().byContent() ? 0 : idHash(record);
    Rendered rendered = format.render(record);
    long[] hash = ContentHash.of(rendered.content());
    TokenizedDoc doc = tokenizer.tokenize(rendered);
    int seqLen = config.length().seqLen();
    boolean truncated = false;
    if (doc.length() > seqLen) {
      if (config.length().policy() == LengthPolicy.DROP) {
        return new Outcome.Dropped("too_long", tenant);
      }
      doc = new TokenizedDoc(Arrays.copyOf(doc.ids(), seqLen), Arrays.copyOf(doc.labels(), seqLen));
      truncated = true;
    }
    if (doc.trainedTokens() == 0) {
      return new Outcome.Dropped("no_trained_tokens", tenant);
    }
    boolean validation = SplitAssigner.isValidation(
        config.split().byContent() ? hash[0] : splitHash, config.split().validationFraction());
    return new Outcome.Example(inputHi, inputLo, hash[0], hash[1], validation, truncated, doc, tenant);
  }

  private long idHash(JsonNode record) throws BadRecordException {
    String field = config.split().key();
    JsonNode id = record.get(field);
    if (id == null || id.isNull()) {
      throw new BadRecordException(RejectReason.MISSING_FIELD,
          "no field \"" + field + "\" (split.key names it as the id that decides the split)");
    }
    if (!id.isTextual() && !id.isNumber()) {
      throw new BadRecordException(RejectReason.WRONG_TYPE,
          "field \"" + field + "\" (split.key) must be a string or a number");
    }
    return SplitAssigner.idHash(id.toString());
  }

  /** The record's tenant: tenant.column's value, a string or a number that can name a directory. */
  private String tenant(JsonNode record) throws BadRecordException {
    String field = config.tenantColumn();
    JsonNode value = record.get(field);
    if (value == null || value.isNull()) {
      throw new BadRecordException(RejectReason.MISSING_FIELD,
          "no field \"" + field + "\" (tenant.column names it as the record's tenant)");
    }
    if (!value.isTextual() && !value.isIntegralNumber()) {
      throw new BadRecordException(RejectReason.WRONG_TYPE,
          "field \"" + field + "\" (tenant.column) must be a string or an integer");
    }
    String name = value.asText();
    if (!PrepConfig.TENANT_NAME.matcher(name).matches()) {
      throw new BadRecordException(RejectReason.WRONG_TYPE, "tenant \"" + excerptOf(name) + "\" (field \"" + field
          + "\", tenant.column) is not a tenant name: use letters, digits, '.', '_' and '-', at most 128, not starting"
          + " with '.'");
    }
    return name;
  }


  private static String excerptOf(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  private static String excerpt(ChunkLines lines) {
    int n = Math.min(lines.length() - lines.offset(), EXCERPT * 4);
    String text = new String(lines.bytes(), lines.offset(), Math.max(0, n), StandardCharsets.UTF_8);
    return text.substring(0, Math.min(EXCERPT, text.length()));
  }
}
