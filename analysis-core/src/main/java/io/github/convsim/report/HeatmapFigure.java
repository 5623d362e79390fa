package io.github.convsim.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.style.Styler;

/**
 * A layers x layers similarity heatmap in the paper's style, drawn with XChart: a fixed 0..1 viridis scale with a
 * colour bar, every layer labelled, layer 0 on top, each cell annotated with two decimals in black or white,
 * whichever contrasts more with the cell ("n/a" where phi is undefined).
 */
public final class HeatmapFigure {
    /** The cell colour of a map with no defined value. */
    static final Color UNDEFINED = new Color(0xD9D9D9);

    private final String title;
    private final String subtitle;
    private final String xLabel;
    private final String yLabel;
    private final String[] layers;
    private final double[][] values;

    /** {@code values[a][b]} is the cell of row layer a, column layer b. */
    public HeatmapFigure(String title, String subtitle, String xLabel, String yLabel, int[] layers, double[][] values) {
        this(title, subtitle, xLabel, yLabel, java.util.Arrays.stream(layers).mapToObj(String::valueOf)
                .toArray(String[]::new), values);
    }

    /** A square map with named rows and columns (adapters, say); the first label is drawn at the top. */
    public HeatmapFigure(String title, String subtitle, String xLabel, String yLabel, String[] labels,
                         double[][] values) {
        this.title = title;
        this.subtitle = subtitle;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.layers = labels.clone();
        this.values = values;
    }

    private int cellSize() {
        return layers.length <= 16 ? 44 : layers.length <= 40 ? 26 : 16;
    }

    private int labelRoom() {
        int longest = 0;
        for (String l : layers) {
            longest = Math.max(longest, l.length());
        }
        return Math.max(0, longest - 3) * 7;
    }

    /** Wide enough for the cells and labels, and for the title and the caption under the axis not to be cut. */
    public int width() {
        int caption = (xLabel.length() + (subtitle == null ? 0 : subtitle.length() + 5)) * 7;
        // XChart centres the title over the plot, which the row labels push right by about labelRoom()
        return Math.max(cellSize() * layers.length + 230 + labelRoom(),
                Math.max(title.length() * 10 + 2 * labelRoom(), caption) + 120);
    }

    public int height() {
        return cellSize() * layers.length + 160 + labelRoom();
    }

    /** The chart, with cell annotations painted over XChart's plot. */
    HeatMapChart chart() {
        Annotated chart = new Annotated(new HeatMapChartBuilder().width(width()).height(height())
                .title(title).xAxisTitle(subtitle == null ? xLabel : xLabel + "   (" + subtitle + ")").yAxisTitle(yLabel));
        var s = chart.getStyler();
        s.setTheme(new org.knowm.xchart.style.theme.MatlabTheme());
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(new Color(0xEEEEEE));
        s.setPlotBorderVisible(false);
        s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        s.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        s.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, layers.length <= 40 ? 11 : 8));
        s.setRangeColors(Viridis.anchors());
        s.setMin(0);
        s.setMax(1);
        s.setShowValue(false);
        s.setDrawBorder(false);
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setLegendVisible(true);
        s.setSplitNumber(10);
        s.setHeatMapValueDecimalPattern("0.0");
        s.setGradientColorColumnHeight(cellSize() * layers.length);
        s.setGradientColorColumnWeight(14);
        s.setChartTitleBoxVisible(false);
        s.setPlotGridLinesVisible(false);
        s.setAxisTicksMarksVisible(false);
        s.setChartPadding(12);
        s.setPlotContentSize(1.0);
        if (labelRoom() > 0) {
            s.setXAxisLabelRotation(45);
        }
        s.setXAxisTickMarkSpacingHint(Math.max(8, cellSize() - 4));
        s.setYAxisTickMarkSpacingHint(Math.max(8, cellSize() - 4));
        List<String> xs = new ArrayList<>();
        List<String> ys = new ArrayList<>();
        xs.addAll(List.of(layers));
        for (int k = layers.length - 1; k >= 0; k--) {
            ys.add(layers[k]); // XChart draws the first y category at the bottom: layer 0 on top
        }
        List<Number[]> cells = new ArrayList<>();
        int n = layers.length;
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                double v = values[a][b];
                if (!Double.isNaN(v)) {
                    cells.add(new Number[] {b, n - 1 - a, Math.max(0, Math.min(1, v))});
                }
            }
        }
        if (cells.isEmpty()) {
            // nothing is defined (an untrained adapter's B = 0): grey cells marked n/a, no colour bar
            s.setRangeColors(new Color[] {UNDEFINED, UNDEFINED});
            s.setLegendVisible(false);
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    cells.add(new Number[] {b, n - 1 - a, 0});
                }
            }
        }
        chart.addSeries("phi", xs, ys, cells);
        return chart;
    }

    /** XChart's heat map, then the cell texts, whose colour depends on each cell's own background. */
    private final class Annotated extends HeatMapChart {
        Annotated(HeatMapChartBuilder b) {
            super(b);
        }

        @Override
        public void paint(Graphics2D g, int width, int height) {
            super.paint(g, width, height);
            Rectangle2D bounds = plot.getBounds();
            int n = layers.length;
            double cw = bounds.getWidth() / n;
            double ch = bounds.getHeight() / n;
            float size = (float) Math.max(7, Math.min(12, cw * 0.3));
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, Math.round(size)));
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            FontMetrics fm = g.getFontMetrics();
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    double v = values[a][b];
                    double x = bounds.getX() + b * cw;
                    double y = bounds.getY() + a * ch;
                    String text;
                    if (Double.isNaN(v)) {
                        g.setColor(new Color(0xBBBBBB));
                        g.setStroke(new BasicStroke(1f));
                        g.drawLine((int) x, (int) (y + ch), (int) (x + cw), (int) y);
                        g.setColor(Color.DARK_GRAY);
                        text = "n/a";
                    } else {
                        g.setColor(Viridis.textOn(Viridis.at(v)));
                        text = String.format(Locale.ROOT, "%.2f", v);
                    }
                    if (n <= 40) {
                        int tx = (int) Math.round(x + (cw - fm.stringWidth(text)) / 2);
                        int ty = (int) Math.round(y + (ch + fm.getAscent() - fm.getDescent()) / 2);
                        g.drawString(text, tx, ty);
                    }
                }
            }
        }
    }

    /** The figure as an image, e.g. for a notebook. */
    public BufferedImage toImage() {
        HeatMapChart chart = chart();
        BufferedImage img = new BufferedImage(width(), height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        chart.paint(g, width(), height());
        g.dispose();
        return img;
    }

    public void writePng(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            if (!ImageIO.write(toImage(), "png", out)) {
                throw new IOException("no PNG writer in this Java runtime");
            }
        }
    }

    public void writeSvg(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            VectorGraphicsEncoder.saveVectorGraphic(chart(), out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        }
    }

    /** Writes {@code stem}.png and/or {@code stem}.svg, as {@code formats} ("png", "svg") asks. */
    public void write(Path stem, java.util.Set<String> formats) throws IOException {
        if (formats.contains("png")) {
            writePng(stem.resolveSibling(stem.getFileName() + ".png"));
        }
        if (formats.contains("svg")) {
            writeSvg(stem.resolveSibling(stem.getFileName() + ".svg"));
        }
    }
}
