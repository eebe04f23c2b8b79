package io.laketune.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/** The loss curves of a run as a PNG: training loss per step and validation loss per evaluation. */
final class LossChart {
  private LossChart() {}

  static byte[] png(List<Map<String, Object>> history, String title) throws IOException {
    System.setProperty("java.awt.headless", "true");
    int w = 960, h = 540, left = 70, right = 30, top = 50, bottom = 50;
    double maxStep = 1, lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
    for (Map<String, Object> e : history) {
      maxStep = Math.max(maxStep, ((Number) e.get("step")).doubleValue());
      for (String k : new String[] {"loss", "eval_loss"}) {
        if (e.get(k) instanceof Number n && Double.isFinite(n.doubleValue())) {
          lo = Math.min(lo, n.doubleValue());
          hi = Math.max(hi, n.doubleValue());
        }
      }
    }
    if (!(hi > lo)) {
      lo = Double.isFinite(lo) ? lo - 1 : 0;
      hi = lo + 2;
    }
    double pad = 0.05 * (hi - lo);
    lo -= pad;
    hi += pad;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    g.setColor(Color.DARK_GRAY);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString(title, left, 30);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawRect(left, top, w - left - right, h - top - bottom);
    for (int i = 0; i <= 4; i++) {
      double y = lo + (hi - lo) * i / 4;
      int py = top + (int) ((h - top - bottom) * (1 - (double) i / 4));
      g.drawString(String.format(Locale.ROOT, "%.3f", y), 8, py + 4);
      g.setColor(new Color(230, 230, 230));
      g.drawLine(left + 1, py, w - right - 1, py);
      g.setColor(Color.DARK_GRAY);
    }
    g.drawString("step " + (long) maxStep, w - right - 70, h - 20);
    g.drawString("0", left, h - 20);
    drawSeries(g, history, "loss", new Color(31, 119, 180), maxStep, lo, hi, left, right, top, bottom, w, h);
    drawSeries(g, history, "eval_loss", new Color(255, 127, 14), maxStep, lo, hi, left, right, top, bottom, w, h);
    g.setColor(new Color(31, 119, 180));
    g.drawString("train loss", w - right - 200, top + 20);
    g.setColor(new Color(255, 127, 14));
    g.drawString("validation loss", w - right - 120, top + 20);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  private static void drawSeries(Graphics2D g, List<Map<String, Object>> history, String key, Color color, double maxStep,
      double lo, double hi, int left, int right, int top, int bottom, int w, int h) {
    g.setColor(color);
    g.setStroke(new BasicStroke(2f));
    int px = -1, py = -1;
    for (Map<String, Object> e : history) {
      if (!(e.get(key) instanceof Number n) || !Double.isFinite(n.doubleValue())) continue;
      int x = left + (int) ((w - left - right) * ((Number) e.get("step")).doubleValue() / maxStep);
      int y = top + (int) ((h - top - bottom) * (1 - (n.doubleValue() - lo) / (hi - lo)));
      if (px >= 0) g.drawLine(px, py, x, y);
      g.fillOval(x - 2, y - 2, 5, 5);
      px = x;
      py = y;
    }
  }
}
