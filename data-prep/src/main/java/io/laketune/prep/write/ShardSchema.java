package io.laketune.prep.write;

import java.util.List;
import java.util.Map;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * The Parquet layout of a token shard: one row per training row, three list&lt;int32&gt; columns in
 * the standard three-level LIST form, so pyarrow, pandas, Spark and Hugging Face datasets read them
 * as lists of ints.
 *
 * <pre>
 * input_ids: list&lt;int32&gt;  token ids, length L ≤ seq_len (not padded)
 * labels:    list&lt;int32&gt;  length L, -100 = not trained
 * doc_lens:  list&lt;int32&gt;  tokens per document in the row, summing to L
 * </pre>
 *
 * The file's key-value metadata carries {@link #FORMAT} and {@link #VERSION}.
 */
public final class ShardSchema {

  public static final String FORMAT = "laketune-tokens";
  public static final int VERSION = 1;
  public static final String INPUT_IDS = "input_ids";
  public static final String LABELS = "labels";
  public static final String DOC_LENS = "doc_lens";
  public static final List<String> COLUMNS = List.of(INPUT_IDS, LABELS, DOC_LENS);

  public static final MessageType SCHEMA = new MessageType("laketune_tokens",
      intList(INPUT_IDS), intList(LABELS), intList(DOC_LENS));

  public static final Map<String, String> METADATA =
      Map.of("laketune.format", FORMAT, "laketune.format_version", Integer.toString(VERSION));

  private ShardSchema() {}

  private static Type intList(String name) {
    return Types.requiredGroup()
        .as(LogicalTypeAnnotation.listType())
        .addField(Types.repeatedGroup()
            .addField(Types.required(PrimitiveTypeName.INT32).named("element"))
            .named("list"))
        .named(name);
  }
}
