package io.laketune.prep.source;

import io.laketune.prep.config.PrepConfig;
import io.laketune.prep.config.PrepConfig.AlpacaPrompt;
import io.laketune.prep.config.PrepConfig.FormatType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.VariantType;

/**
 * The columns a configuration reads from a table, checked against its schema before the job
 * starts: the fields format.type needs (named by format.fields), the split.key column and the
 * source.key column — and nothing else, so the scan reads only those (column pruning). A column
 * that does not exist or has a type no row could use stops the job with one sentence naming it;
 * everything that can vary per row (nulls, malformed JSON strings, broken message structs) is left
 * to the formats, which reject that row.
 */
public final class SourceColumns {

  /**
   * One column to read.
   *
   * @param field the record's field name the formats look up (format.fields value, or the key)
   * @param column the column's name in the table
   * @param json whether the column is a JSON string to be parsed into the structure the format needs
   */
  public record Column(String field, String column, boolean json) implements java.io.Serializable {}

  private SourceColumns() {}

  /** @throws IllegalArgumentException naming the first column that cannot work */
  public static List<Column> of(StructType schema, PrepConfig config) {
    Map<String, Column> out = new LinkedHashMap<>();
    PrepConfig.Format format = config.format();
    FormatType type = format.type();
    switch (type) {
      case TEXT -> string(schema, format, "text", true, out);
      case PROMPT_COMPLETION -> {
        string(schema, format, "prompt", true, out);
        string(schema, format, "completion", true, out);
      }
      case CHAT -> messages(schema, format, out);
      case ALPACA -> {
        string(schema, format, "instruction", true, out);
        string(schema, format, "input", false, out);
        string(schema, format, "output", true, out);
      }
      default -> throw new IllegalStateException("no format " + type);
    }
    if (!config.split().byContent()) {
      scalar(schema, config.split().key(), "laketune.prep.split.key", true, out);
    }
    if (!config.source().key().isEmpty()) {
      scalar(schema, config.source().key(), "laketune.prep.source.key", false, out);
    }
    if (config.tenants()) {
      scalar(schema, config.tenantColumn(), "laketune.prep.tenant.column", true, out);
    }
    return List.copyOf(out.values());
  }

  private static void string(StructType schema, PrepConfig.Format format, String ours, boolean required,
      Map<String, Column> out) {
    String name = format.field(ours);
    StructField field = find(schema, name, "laketune.prep.format.fields." + ours, required);
    if (field == null) {
      return;
    }
    if (!(field.dataType() instanceof StringType)) {
      throw new IllegalArgumentException("The column \"" + field.name() + "\" (format.fields." + ours + ") is "
          + field.dataType().simpleString() + ", but format.type = " + typeName(format) + " needs its " + ours
          + " as a string column: point format.fields." + ours + " at one, or cast it in a source.query.");
    }
    out.putIfAbsent(name, new Column(name, field.name(), false));
  }

  /**
   * Chat messages: an array of structs (or of maps) holding format.fields.role and .content as
   * strings, or a JSON string column (a variant column is read as its JSON).
   */
  private static void messages(StructType schema, PrepConfig.Format format, Map<String, Column> out) {
    String name = format.field("messages");
    StructField field = find(schema, name, "laketune.prep.format.fields.messages", true);
    DataType type = field.dataType();
    String needs = ", but format.type = chat needs an array of structs with " + format.field("role") + " and "
        + format.field("content") + " (format.fields.role, .content), or the messages as a JSON string.";
    if (type instanceof StringType) {
      out.put(name, new Column(name, field.name(), true));
      return;
    }
    if (type instanceof VariantType) {
      out.put(name, new Column(name, field.name(), false));
      return;
    }
    if (!(type instanceof ArrayType array)) {
      throw new IllegalArgumentException("The column \"" + field.name() + "\" (format.fields.messages) is "
          + type.simpleString() + needs);
    }
    DataType element = array.elementType();
    if (element instanceof StructType struct) {
      for (String part : List.of("role", "content")) {
        String partName = format.field(part);
        StructField f = Arrays.stream(struct.fields()).filter(x -> x.name().equals(partName)).findFirst().orElse(null);
        if (f == null) {
          throw new IllegalArgumentException("The structs of column \"" + field.name() + "\" have no field \""
              + partName + "\" (format.fields." + part + "); they have " + String.join(", ", struct.fieldNames())
              + ": set format.fields." + part + " to the one that holds the " + part + ".");
        }
        if (!(f.dataType() instanceof StringType)) {
          throw new IllegalArgumentException("The field \"" + partName + "\" of the structs of column \"" + field.name()
              + "\" (format.fields." + part + ") is " + f.dataType().simpleString() + ", but a message's " + part
              + " must be a string.");
        }
      }
    } else if (!(element instanceof MapType map && map.keyType() instanceof StringType)) {
      throw new IllegalArgumentException("The column \"" + field.name() + "\" (format.fields.messages) is "
          + type.simpleString() + needs);
    }
    out.put(name, new Column(name, field.name(), false));
  }

  /** split.key or source.key: a string or a number (an id), or for source.key any plain value. */
  private static void scalar(StructType schema, String name, String key, boolean idOnly, Map<String, Column> out) {
    StructField field = find(schema, name, key, true);
    DataType t = field.dataType();
    boolean number = t instanceof IntegerType || t instanceof LongType || t instanceof ShortType
        || t instanceof ByteType || t instanceof DecimalType || t instanceof DoubleType || t instanceof FloatType;
    boolean plain = !(t instanceof ArrayType || t instanceof StructType || t instanceof MapType
        || t instanceof BinaryType || t instanceof VariantType);
    if (idOnly ? !(number || t instanceof StringType) : !plain) {
      throw new IllegalArgumentException("The column \"" + field.name() + "\" (" + key + ") is " + t.simpleString()
          + ", but " + key + " must name a " + (idOnly ? "string or number" : "plain (not nested or binary)")
          + " column that identifies a row.");
    }
    out.putIfAbsent(name, new Column(name, field.name(), false));
  }

  /** The column named, exactly or else ignoring case (as Spark resolves names); null when optional and absent. */
  private static StructField find(StructType schema, String name, String key, boolean required) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    List<StructField> loose = new ArrayList<>();
    for (StructField f : schema.fields()) {
      if (f.name().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
        loose.add(f);
      }
    }
    if (loose.size() == 1) {
      return loose.get(0);
    }
    if (!required) {
      return null;
    }
    throw new IllegalArgumentException(key + " names the column \"" + name + "\", which the source does not have;"
        + " its columns are " + String.join(", ", schema.fieldNames()) + ".");
  }

  private static String typeName(PrepConfig.Format format) {
    String t = format.type().name().toLowerCase(Locale.ROOT);
    return format.type() == FormatType.ALPACA && format.alpacaPrompt() == AlpacaPrompt.CHAT ? t + " (alpaca_prompt = chat)" : t;
  }
}
