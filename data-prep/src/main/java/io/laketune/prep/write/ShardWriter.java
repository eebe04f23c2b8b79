package io.laketune.prep.write;

import io.laketune.prep.pack.PackedRow;
import java.io.Closeable;
import java.io.IOException;
import java.util.HashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.api.RecordConsumer;

/**
 * Writes {@link PackedRow}s to one Parquet shard ({@link ShardSchema}) on any Hadoop FileSystem.
 * Every setting that shapes the bytes is fixed here and nothing time- or host-dependent goes into
 * the file, and the footer's encodings are sorted ({@link SortedFooterOutputFile}: parquet-mr's
 * order changes between JVMs), so the same rows give the same bytes in every run. zstd: token ids
 * compress to about half.
 */
public final class ShardWriter implements Closeable {

  private final ParquetWriter<PackedRow> writer;

  public ShardWriter(Path path, Configuration conf) throws IOException {
    this(new SortedFooterOutputFile(HadoopOutputFile.fromPath(path, conf)), conf);
  }

  /** Writes to file as parquet-mr does, footer and all (tests compare it with the sorted one). */
  ShardWriter(OutputFile file, Configuration conf) throws IOException {
    this.writer = new Builder(file)
        .withConf(conf)
        .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
        .withCompressionCodec(CompressionCodecName.ZSTD)
        .withRowGroupSize(64L << 20)
        .withPageSize(1 << 20)
        .withDictionaryEncoding(true)
        .withValidation(false)
        .build();
  }

  public void write(PackedRow row) throws IOException {
    writer.write(row);
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }

  private static final class Builder extends ParquetWriter.Builder<PackedRow, Builder> {
    Builder(OutputFile file) {
      super(file);
    }

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    protected WriteSupport<PackedRow> getWriteSupport(Configuration conf) {
      return new RowWriteSupport();
    }
  }

  private static final class RowWriteSupport extends WriteSupport<PackedRow> {
    private RecordConsumer consumer;

    @Override
    public WriteContext init(Configuration configuration) {
      return new WriteContext(ShardSchema.SCHEMA, new HashMap<>(ShardSchema.METADATA));
    }

    @Override
    public String getName() {
      return ShardSchema.FORMAT;
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
      this.consumer = recordConsumer;
    }

    @Override
    public void write(PackedRow row) {
      consumer.startMessage();
      list(0, ShardSchema.INPUT_IDS, row.ids());
      list(1, ShardSchema.LABELS, row.labels());
      list(2, ShardSchema.DOC_LENS, row.docLens());
      consumer.endMessage();
    }

    private void list(int index, String name, int[] values) {
      consumer.startField(name, index);
      consumer.startGroup();
      if (values.length > 0) {
        consumer.startField("list", 0);
        for (int value : values) {
          consumer.startGroup();
          consumer.startField("element", 0);
          consumer.addInteger(value);
          consumer.endField("element", 0);
          consumer.endGroup();
        }
        consumer.endField("list", 0);
      }
      consumer.endGroup();
      consumer.endField(name, index);
    }
  }
}
