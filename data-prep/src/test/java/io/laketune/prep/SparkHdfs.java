package io.laketune.prep;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import io.laketune.prep.source.LakehouseConf;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * One in-process HDFS (MiniDFSCluster: a NameNode and a DataNode on 127.0.0.1) and one Spark
 * session (local[2], with Delta and Iceberg, catalog tables on that HDFS) per test JVM, started by the first integration test that asks and stopped at
 * exit. Starting them costs about 10 s, so the integration tests share them.
 */
public final class SparkHdfs {

  private static MiniDFSCluster cluster;
  private static SparkSession spark;

  private SparkHdfs() {}

  public static synchronized SparkSession spark() {
    start();
    return spark;
  }

  /** The HDFS root, hdfs://127.0.0.1:PORT. */
  public static synchronized String hdfs() {
    start();
    return "hdfs://127.0.0.1:" + cluster.getNameNodePort();
  }

  public static FileSystem fs() throws IOException {
    return FileSystem.get(java.net.URI.create(hdfs()), spark().sparkContext().hadoopConfiguration());
  }

  /** Writes a file on HDFS; returns its hdfs:// URI. */
  public static String write(String path, byte[] bytes) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(hdfs() + path);
    try (OutputStream out = fs().create(p, true)) {
      out.write(bytes);
    }
    return p.toString();
  }

  public static String write(String path, String text) throws IOException {
    return write(path, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Copies a local directory (a tokenizer) to HDFS; returns its hdfs:// URI. */
  public static String upload(Path localDir, String path) throws IOException {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(hdfs() + path);
    fs().copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(localDir.toUri()), target);
    return target.toString();
  }

  private static void start() {
    if (spark != null) {
      return;
    }
    try {
      Path base = Files.createTempDirectory("laketune-minidfs");
      Configuration conf = new Configuration();
      conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
      conf.set("dfs.namenode.http-address", "127.0.0.1:0");
      conf.set("dfs.datanode.address", "127.0.0.1:0");
      conf.set("dfs.datanode.http.address", "127.0.0.1:0");
      conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
      conf.setInt("dfs.replication", 1);
      cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
      cluster.waitActive();
      String uri = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
      // Delta as laketune prepare sets it up, plus Iceberg's extension: the tests write Iceberg
      // tables with UPDATE and DELETE. Catalog tables live on HDFS.
      SparkConf lakehouse = LakehouseConf.apply(new SparkConf(false));
      lakehouse.set("spark.sql.extensions", lakehouse.get("spark.sql.extensions")
          + ",org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions");
      spark = SparkSession.builder()
          .config(lakehouse)
          .config("spark.sql.warehouse.dir", uri + "/warehouse")
          .master("local[2]")
          .appName("laketune-data-prep-tests")
          .config("spark.driver.host", "127.0.0.1")
          .config("spark.driver.bindAddress", "127.0.0.1")
          .config("spark.ui.enabled", "false")
          .config("spark.default.parallelism", "2")
          .config("spark.sql.shuffle.partitions", "2")
          .config("spark.hadoop.fs.defaultFS", uri)
          .getOrCreate();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        spark.stop();
        cluster.shutdown(true);
      }));
    } catch (IOException e) {
      throw new IllegalStateException("cannot start MiniDFSCluster", e);
    }
  }
}
