package io.laketune.train;

import io.laketune.plot.Charts;
import java.util.List;
import java.util.Map;

/** The loss curves of a run as a PNG: training loss per step and validation loss per evaluation. */
final class LossChart {
  private LossChart() {}

  /** The same chart a notebook shows ({@link Charts#loss}), at 960 x 540. */
  static byte[] png(List<Map<String, Object>> history, String title) {
    return Charts.png(Charts.loss(history, title), Charts.WIDTH, Charts.HEIGHT);
  }
}
