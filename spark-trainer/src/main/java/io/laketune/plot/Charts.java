package io.laketune.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.StandardChartTheme;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.statistics.HistogramDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The charts laketune draws (JFreeChart, headless): the trainer's {@code loss.png} and the notebooks'
 * figures come from here, so they look the same everywhere. Build a chart, then {@link #image} it for
 * a notebook's display or {@link #png} it for a file.
 */
public final class Charts {
  /** Series colours in order (train, validation, ...). */
  private static final Color[] COLORS = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
      new Color(214, 39, 40), new Color(148, 103, 189)};
  public static final int WIDTH = 960;
  public static final int HEIGHT = 540;

  static {
    System.setProperty("java.awt.headless", "true");
  }

  private Charts() {}

  /**
   * Training loss per step and validation loss per evaluation, from a run's metric history (the
   * entries of {@code metrics.jsonl}: {@code step} with {@code loss} and/or {@code eval_loss}).
   */
  public static JFreeChart loss(List<Map<String, Object>> history, String title) {
    XYSeries train = new XYSeries("train loss");
    XYSeries eval = new XYSeries("validation loss");
    for (Map<String, Object> e : history) {
      if (!(e.get("step") instanceof Number step)) continue;
      if (e.get("loss") instanceof Number n && Double.isFinite(n.doubleValue())) train.add(step, n);
      if (e.get("eval_loss") instanceof Number n && Double.isFinite(n.doubleValue())) eval.add(step, n);
    }
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(train);
    data.addSeries(eval);
    return lines(title, "step", "loss (cross-entropy, nats/token)", data);
  }

  /** Lines with points, one per named series of (x, y) pairs: {@code series.get(name) = {xs, ys}}. */
  public static JFreeChart lines(String title, String xLabel, String yLabel, Map<String, double[][]> series) {
    XYSeriesCollection data = new XYSeriesCollection();
    for (Map.Entry<String, double[][]> s : series.entrySet()) {
      double[] xs = s.getValue()[0], ys = s.getValue()[1];
      if (xs.length != ys.length) {
        throw new IllegalArgumentException("series " + s.getKey() + " has " + xs.length + " x values and " + ys.length + " y values");
      }
      XYSeries xy = new XYSeries(s.getKey());
      for (int i = 0; i < xs.length; i++) if (Double.isFinite(ys[i])) xy.add(xs[i], ys[i]);
      data.addSeries(xy);
    }
    return lines(title, xLabel, yLabel, data);
  }

  private static JFreeChart lines(String title, String xLabel, String yLabel, XYSeriesCollection data) {
    JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, data, PlotOrientation.VERTICAL, true, false, false);
    style(chart);
    XYPlot plot = chart.getXYPlot();
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < data.getSeriesCount(); i++) {
      r.setSeriesPaint(i, COLORS[i % COLORS.length]);
      r.setSeriesStroke(i, new BasicStroke(2f));
      r.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-2.5, -2.5, 5, 5));
    }
    plot.setRenderer(r);
    ((org.jfree.chart.axis.NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
    return chart;
  }

  /** A histogram of {@code values} in {@code bins} equal bins between their minimum and maximum. */
  public static JFreeChart histogram(String title, String xLabel, double[] values, int bins) {
    if (values.length == 0) throw new IllegalArgumentException("histogram " + title + " has no values");
    HistogramDataset data = new HistogramDataset();
    double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
    for (double v : values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    data.addSeries(xLabel, values, bins, lo, hi > lo ? hi : lo + 1);
    JFreeChart chart = ChartFactory.createHistogram(title, xLabel, "count", data, PlotOrientation.VERTICAL, false, false, false);
    style(chart);
    XYBarRenderer r = (XYBarRenderer) chart.getXYPlot().getRenderer();
    r.setBarPainter(new StandardXYBarPainter());
    r.setShadowVisible(false);
    r.setDrawBarOutline(true);
    r.setSeriesPaint(0, COLORS[0]);
    r.setSeriesOutlinePaint(0, Color.WHITE);
    return chart;
  }

  /**
   * Grouped bars: {@code values.get(group).get(category)}, one colour per group (e.g. per run, with
   * one bar per round or per metric).
   */
  public static JFreeChart bars(String title, String categoryLabel, String valueLabel, Map<String, Map<String, Double>> values) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    values.forEach((group, byCategory) -> byCategory.forEach((category, v) -> data.addValue(v, group, category)));
    JFreeChart chart = ChartFactory.createBarChart(title, categoryLabel, valueLabel, data, PlotOrientation.VERTICAL, true, false, false);
    style(chart);
    CategoryPlot plot = chart.getCategoryPlot();
    BarRenderer r = (BarRenderer) plot.getRenderer();
    r.setBarPainter(new StandardBarPainter());
    r.setShadowVisible(false);
    for (int i = 0; i < values.size(); i++) r.setSeriesPaint(i, COLORS[i % COLORS.length]);
    return chart;
  }

  /** The chart drawn on a {@code width} x {@code height} RGB image (what a notebook displays). */
  public static BufferedImage image(JFreeChart chart, int width, int height) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    chart.draw(g, new java.awt.geom.Rectangle2D.Double(0, 0, width, height));
    g.dispose();
    return img;
  }

  /** {@link #image} at the default size. */
  public static BufferedImage image(JFreeChart chart) {
    return image(chart, WIDTH, HEIGHT);
  }

  /** The chart as PNG bytes. */
  public static byte[] png(JFreeChart chart, int width, int height) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image(chart, width, height), "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void style(JFreeChart chart) {
    StandardChartTheme theme = (StandardChartTheme) StandardChartTheme.createJFreeTheme();
    theme.setExtraLargeFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    theme.setLargeFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    theme.setRegularFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    theme.setChartBackgroundPaint(Color.WHITE);
    theme.setPlotBackgroundPaint(Color.WHITE);
    theme.setDomainGridlinePaint(new Color(225, 225, 225));
    theme.setRangeGridlinePaint(new Color(225, 225, 225));
    theme.apply(chart);
    chart.setBackgroundPaint(Color.WHITE);
    chart.setAntiAlias(true);
  }
}
