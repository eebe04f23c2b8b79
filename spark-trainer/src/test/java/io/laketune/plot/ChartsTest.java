package io.laketune.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ChartsTest {

  /** Pixels of exactly this colour (a series' line). */
  static int count(BufferedImage img, int rgb) {
    int n = 0;
    for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) if ((img.getRGB(x, y) & 0xffffff) == rgb) n++;
    return n;
  }

  @Test
  void lossChartIsAPngWithBothCurves() throws Exception {
    List<Map<String, Object>> history = List.of(Map.of("step", 1, "loss", 2.5), Map.of("step", 2, "loss", 2.0),
        Map.of("step", 2, "eval_loss", 2.2), Map.of("step", 3, "loss", 1.5), Map.of("step", 4, "loss", 1.2, "eval_loss", 1.4));
    byte[] png = Charts.png(Charts.loss(history, "test run"), Charts.WIDTH, Charts.HEIGHT);
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
    assertEquals(960, img.getWidth());
    assertEquals(540, img.getHeight());
    assertTrue(count(img, 0x1f77b4) > 200, "the training curve is drawn in blue");
    assertTrue(count(img, 0xff7f0e) > 100, "the validation curve is drawn in orange");
  }

  @Test
  void histogramAndBarsDraw() {
    BufferedImage h = Charts.image(Charts.histogram("lengths", "tokens", new double[] {3, 4, 4, 5, 9}, 4), 400, 300);
    assertTrue(count(h, 0x1f77b4) > 1000, "bars in the first colour");
    BufferedImage b = Charts.image(Charts.bars("sync", "step", "ms", Map.of("run", Map.of("1", 10.0, "2", 20.0))), 400, 300);
    assertTrue(count(b, 0x1f77b4) > 500);
    assertThrows(IllegalArgumentException.class, () -> Charts.histogram("empty", "x", new double[0], 3));
  }
}
