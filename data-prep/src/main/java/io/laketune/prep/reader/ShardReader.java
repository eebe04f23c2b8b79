package io.laketune.prep.reader;

import io.laketune.prep.pack.PackedRow;
import io.laketune.prep.write.ShardSchema;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.api.InitContext;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.io.api.Converter;
import org.apache.parquet.io.api.GroupConverter;
import org.apache.parquet.io.api.PrimitiveConverter;
import org.apache.parquet.io.api.RecordMaterializer;
import org.apache.parquet.schema.MessageType;

/**
 * Reads a whole token shard ({@link ShardSchema}) into memory, straight into int arrays (no
 * Spark, no boxing). A shard of S tokens takes about 8·S bytes.
 */
public final class ShardReader {

  private ShardReader() {}

  /** @throws IllegalArgumentException when the file is not a laketune token shard */
  public static List<PackedRow> read(Path path, Configuration conf) throws IOException {
    List<PackedRow> rows = new ArrayList<>();
    try (ParquetReader<PackedRow> reader =
        ParquetReader.builder(new RowReadSupport(path), path).withConf(conf).build()) {
      for (PackedRow row = reader.read(); row != null; row = reader.read()) {
        rows.add(row);
      }
    }
    return rows;
  }

  private static final class RowReadSupport extends ReadSupport<PackedRow> {
    private final Path path;

    RowReadSupport(Path path) {
      this.path = path;
    }

    @Override
    public ReadContext init(InitContext context) {
      MessageType schema = context.getFileSchema();
      String version = first(context.getKeyValueMetadata().get("laketune.format_version"));
      if (!ShardSchema.SCHEMA.equals(schema)) {
        throw new IllegalArgumentException(path + " is not a laketune token shard (its columns are "
            + schema.getFields().stream().map(f -> f.getName()).toList() + "); prepare the data with laketune prepare.");
      }
      if (version != null && !version.equals(Integer.toString(ShardSchema.VERSION))) {
        throw new IllegalArgumentException(path + " is a laketune token shard of format version " + version
            + ", this laketune reads version " + ShardSchema.VERSION + "; prepare the data again with this laketune.");
      }
      return new ReadContext(ShardSchema.SCHEMA);
    }

    private static String first(Set<String> values) {
      return values == null || values.isEmpty() ? null : values.iterator().next();
    }

    @Override
    public RecordMaterializer<PackedRow> prepareForRead(Configuration configuration,
        Map<String, String> keyValueMetaData, MessageType fileSchema, ReadContext readContext) {
      return new RowMaterializer();
    }
  }

  private static final class RowMaterializer extends RecordMaterializer<PackedRow> {
    private final IntListConverter[] columns = {new IntListConverter(), new IntListConverter(), new IntListConverter()};
    private final GroupConverter root = new GroupConverter() {
      @Override
      public Converter getConverter(int fieldIndex) {
        return columns[fieldIndex];
      }

      @Override
      public void start() {
        for (IntListConverter c : columns) {
          c.size = 0;
        }
      }

      @Override
      public void end() {}
    };

    @Override
    public PackedRow getCurrentRecord() {
      return new PackedRow(columns[0].toArray(), columns[1].toArray(), columns[2].toArray());
    }

    @Override
    public GroupConverter getRootConverter() {
      return root;
    }
  }

  /** list → repeated group "list" → int32 "element", collected into a growable int array. */
  private static final class IntListConverter extends GroupConverter {
    int[] values = new int[1024];
    int size;
    private final PrimitiveConverter element = new PrimitiveConverter() {
      @Override
      public void addInt(int value) {
        if (size == values.length) {
          values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = value;
      }
    };
    private final GroupConverter repeated = new GroupConverter() {
      @Override
      public Converter getConverter(int fieldIndex) {
        return element;
      }

      @Override
      public void start() {}

      @Override
      public void end() {}
    };

    @Override
    public Converter getConverter(int fieldIndex) {
      return repeated;
    }

    @Override
    public void start() {}

    @Override
    public void end() {}

    int[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }
}
