package io.laketune.train.data;

import java.io.Serializable;

/**
 * Where a split's rows come from, shipped to executors inside the round's closure. {@link #open}
 * is called on the worker; implementations cache what they load per JVM under {@link #key}.
 */
public interface RowSource extends Serializable {
  String key();

  Rows open();
}
