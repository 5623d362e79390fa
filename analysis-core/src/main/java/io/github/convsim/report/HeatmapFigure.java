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
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;

/**
 * A layers x layers similarity heatmap drawn with XChart: a viridis scale over the range its {@link ColourScale} gives
 * (fitted to a figure set's off-diagonal values, so that phi of 0.01 to 0.05 is not lost in the darkest corner of
 * 0..1), a labelled colour bar, every layer labelled, layer 0 on top, the diagonal (a layer against itself, phi = 1 by
 * definition) masked in grey, and up to 16 layers each cell annotated with three significant digits in black or
 * white, whichever contrasts more with the cell ("n/a" where phi is undefined).
 */
public final class HeatmapFigure {
    /** The cell colour of a masked or undefined cell. */
    static final Color UNDEFINED = new Color(0xD9D9D9);
    /** Maps with more layers than this carry no cell annotations (they would not fit). */
    static final int ANNOTATED_LAYERS = 16;

    /**
     * The values the colours span, and what the colour bar says they are.
     *
     * @param maskDiagonal whether a cell of a row against its own column is masked (a layer against itself)
     */
    public record ColourScale(double min, double max, String label, boolean maskDiagonal, boolean diverging) {
        public ColourScale(double min, double max, String label, boolean maskDiagonal) {
            this(min, max, label, maskDiagonal, false);
        }

        /** The paper's: a fixed 0..1 scale, the diagonal shown. */
        public static ColourScale unit(String label) {
            return new ColourScale(0, 1, label, false);
        }

        /**
         * Signed values on a diverging scale symmetric about 0 (blue below, white at 0, red above), as wide as the
         * largest |value| off the diagonal (at least 1), the diagonal masked.
         */
        public static ColourScale symmetric(String label, double[][] map) {
            double m = 1;
            for (int a = 0; a < map.length; a++) {
                for (int b = 0; b < map[a].length; b++) {
                    if (a != b && Double.isFinite(map[a][b])) {
                        m = Math.max(m, Math.abs(map[a][b]));
                    }
                }
            }
            return new ColourScale(-m, m, label, true, true);
        }

        /** The colour of {@code v} on this scale. */
        Color colour(double v) {
            return diverging ? Diverging.at(position(v)) : Viridis.at(position(v));
        }

        /**
         * Fitted to the off-diagonal finite values of {@code maps}: their minimum and maximum (widened to 1e-3 when
         * all are equal), the diagonal masked.
         */
        public static ColourScale fitted(String label, double[][]... maps) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (double[][] m : maps) {
                if (m == null) {
                    continue;
                }
                for (int a = 0; a < m.length; a++) {
                    for (int b = 0; b < m[a].length; b++) {
                        if (a != b && Double.isFinite(m[a][b])) {
                            lo = Math.min(lo, m[a][b]);
                            hi = Math.max(hi, m[a][b]);
                        }
                    }
                }
            }
            if (lo > hi) {
                return new ColourScale(0, 1, label, true);
            }
            if (hi - lo < 1e-3) {
                double mid = (hi + lo) / 2;
                lo = mid - 5e-4;
                hi = mid + 5e-4;
            }
            return new ColourScale(lo, hi, label, true);
        }

        /** Where {@code v} falls on the scale, 0 at min and 1 at max (clamped). */
        double position(double v) {
            return Math.max(0, Math.min(1, (v - min) / (max - min)));
        }
    }

    private final String title;
    private final String subtitle;
    private final String xLabel;
    private final String yLabel;
    private final String[] layers;
    private final double[][] values;
    private final ColourScale scale;
    private boolean showBar = true;

    /** {@code values[a][b]} is the cell of row layer a, column layer b. */
    public HeatmapFigure(String title, String subtitle, String xLabel, String yLabel, int[] layers, double[][] values,
                         ColourScale scale) {
        this(title, subtitle, xLabel, yLabel, java.util.Arrays.stream(layers).mapToObj(String::valueOf)
                .toArray(String[]::new), values, scale);
    }

    /** A square map with named rows and columns (adapters, say); the first label is drawn at the top. */
    public HeatmapFigure(String title, String subtitle, String xLabel, String yLabel, String[] labels,
                         double[][] values, ColourScale scale) {
        this.title = title;
        this.subtitle = subtitle;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.layers = labels.clone();
        this.values = values;
        this.scale = scale;
    }

    public ColourScale scale() {
        return scale;
    }

    /** The same figure without its colour bar (a panel beside one that shows the shared scale). */
    HeatmapFigure withoutBar() {
        HeatmapFigure f = new HeatmapFigure(title, subtitle, xLabel, yLabel, layers, values, scale);
        f.showBar = false;
        return f;
    }

    private int barRoom() {
        return showBar ? BAR_ROOM : 10;
    }

    private boolean masked(int a, int b) {
        return scale.maskDiagonal() && a == b;
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

    /** Square cells and their labels, the colour bar, and room for the title (the notes below wrap). */
    public int width() {
        // XChart centres the title over the plot, which the row labels push right by about labelRoom()
        return Math.max(cellSize() * layers.length + 130 + barRoom() + labelRoom(),
                title.length() * 8 + 100 + barRoom());
    }

    public int height() {
        return cellSize() * layers.length + 160 + labelRoom() + footRoom();
    }

    private static final Font NOTE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    /** The widest cell annotation "%.3g" writes for phi in [0, 1]. */
    static final String WIDEST_ANNOTATION = "0.00000";
    private static final int NOTE_LINE = 16;

    /** The notes under the plot, wrapped to the figure's width at about 7 pixels a character. */
    private List<String> noteLines() {
        List<String> lines = new ArrayList<>();
        if (subtitle == null || subtitle.isBlank()) {
            return lines;
        }
        int perLine = Math.max(40, (width() - 40) / 7);
        StringBuilder line = new StringBuilder();
        for (String word : subtitle.split(" ")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > perLine) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() > 0 ? " " : "").append(word);
        }
        lines.add(line.toString());
        return lines;
    }

    private int footRoom() {
        List<String> lines = noteLines();
        return lines.isEmpty() ? 0 : lines.size() * NOTE_LINE + 10;
    }

    /**
     * The cell annotations' font: three significant digits of phi take up to 7 characters ("0.00929"), and the
     * font shrinks (to 7 points at the least) until they fit a cell {@code cellWidth} wide with 2 pixels each side;
     * a wider text spilled into the next cell and was cut at the plot's right edge.
     */
    static Font annotationFont(Graphics2D g, double cellWidth) {
        int size = (int) Math.round(Math.max(7, Math.min(11, cellWidth * 0.24)));
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, size);
        while (size > 7 && g.getFontMetrics(font).stringWidth(WIDEST_ANNOTATION) > cellWidth - 4) {
            font = new Font(Font.SANS_SERIF, Font.PLAIN, --size);
        }
        return font;
    }

    /** The chart, with cell annotations painted over XChart's plot. */
    HeatMapChart chart() {
        Annotated chart = new Annotated(new HeatMapChartBuilder().width(width()).height(height())
                .title(title).xAxisTitle(xLabel).yAxisTitle(yLabel));
        var s = chart.getStyler();
        s.setTheme(new org.knowm.xchart.style.theme.MatlabTheme());
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(new Color(0xEEEEEE));
        s.setPlotBorderVisible(false);
        s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        s.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        s.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, layers.length <= 40 ? 11 : 8));
        s.setRangeColors(scale.diverging() ? Diverging.anchors() : Viridis.anchors());
        s.setMin(scale.min());
        s.setMax(scale.max());
        s.setShowValue(false);
        s.setDrawBorder(false);
        s.setLegendVisible(false); // the colour bar is drawn by Annotated, with ticks and a label
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
                if (!Double.isNaN(v) && !masked(a, b)) {
                    // kept a hair inside the scale: XChart indexes past its colours for a value at either end
                    double inset = 1e-9 * (scale.max() - scale.min());
                    cells.add(new Number[] {b, n - 1 - a,
                            Math.max(scale.min() + inset, Math.min(scale.max() - inset, v))});
                }
            }
        }
        if (cells.isEmpty()) {
            // nothing is defined (an untrained adapter's B = 0): grey cells marked n/a, no colour bar
            s.setRangeColors(new Color[] {UNDEFINED, UNDEFINED});
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    cells.add(new Number[] {b, n - 1 - a, 0});
                }
            }
        }
        chart.addSeries("phi", xs, ys, cells);
        return chart;
    }

    /** Room on the right for the colour bar, its ticks and its label. */
    static final int BAR_ROOM = 120;

    /** XChart's heat map, then the cell texts, whose colour depends on each cell's own background, and the bar. */
    private final class Annotated extends HeatMapChart {
        Annotated(HeatMapChartBuilder b) {
            super(b);
        }

        @Override
        public void paint(Graphics2D g, int width, int height) {
            int foot = footRoom();
            g.setColor(Color.WHITE);
            g.fillRect(width - barRoom(), 0, barRoom(), height);
            g.fillRect(0, height - foot, width, foot);
            super.paint(g, width - barRoom(), height - foot);
            setWidth(width);
            setHeight(height);
            g.setColor(Color.DARK_GRAY);
            g.setFont(NOTE_FONT);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            List<String> notes = noteLines();
            for (int k = 0; k < notes.size(); k++) {
                g.drawString(notes.get(k), 20, height - foot + 4 + (k + 1) * NOTE_LINE - 4);
            }
            Rectangle2D bounds = plot.getBounds();
            int n = layers.length;
            double cw = bounds.getWidth() / n;
            double ch = bounds.getHeight() / n;
            g.setFont(annotationFont(g, cw));
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            FontMetrics fm = g.getFontMetrics();
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    double v = values[a][b];
                    double x = bounds.getX() + b * cw;
                    double y = bounds.getY() + a * ch;
                    String text;
                    if (masked(a, b)) {
                        g.setColor(UNDEFINED);
                        g.fill(new Rectangle2D.Double(x, y, cw, ch));
                        continue;
                    }
                    if (Double.isNaN(v)) {
                        g.setColor(new Color(0xBBBBBB));
                        g.setStroke(new BasicStroke(1f));
                        g.drawLine((int) x, (int) (y + ch), (int) (x + cw), (int) y);
                        g.setColor(Color.DARK_GRAY);
                        text = "n/a";
                    } else {
                        g.setColor(Viridis.textOn(scale.colour(v)));
                        text = String.format(Locale.ROOT, "%.3g", v);
                    }
                    if (n <= ANNOTATED_LAYERS) {
                        int tx = (int) Math.round(x + (cw - fm.stringWidth(text)) / 2);
                        int ty = (int) Math.round(y + (ch + fm.getAscent() - fm.getDescent()) / 2);
                        g.drawString(text, tx, ty);
                    }
                }
            }
            if (defined() && showBar) {
                paintBar(g, bounds, width);
            }
        }

        /** A vertical viridis bar as tall as the plot, five ticks with three significant digits, the label beside. */
        private void paintBar(Graphics2D g, Rectangle2D plot, int width) {
            int x = width - BAR_ROOM + 14;
            int barWidth = 16;
            double top = plot.getY();
            double h = plot.getHeight();
            for (int py = 0; py < (int) h; py++) {
                g.setColor(scale.colour(scale.max() - (scale.max() - scale.min()) * py / (h - 1)));
                g.fillRect(x, (int) (top + py), barWidth, 1);
            }
            g.setColor(Color.DARK_GRAY);
            g.setStroke(new BasicStroke(1f));
            g.drawRect(x, (int) top, barWidth, (int) h - 1);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            FontMetrics fm = g.getFontMetrics();
            for (int t = 0; t <= 4; t++) {
                double v = scale.min() + (scale.max() - scale.min()) * t / 4;
                int y = (int) Math.round(top + h - 1 - (h - 1) * t / 4.0);
                g.drawLine(x + barWidth, y, x + barWidth + 4, y);
                g.drawString(String.format(Locale.ROOT, "%.3g", v), x + barWidth + 7, y + fm.getAscent() / 2 - 1);
            }
            Graphics2D r = (Graphics2D) g.create();
            r.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            FontMetrics lm = r.getFontMetrics();
            r.translate(width - 10, top + h / 2 + lm.stringWidth(scale.label()) / 2.0);
            r.rotate(-Math.PI / 2);
            r.drawString(scale.label(), 0, 0);
            r.dispose();
        }
    }

    /** Whether any cell has a value (an untrained adapter's map has none, and no colour bar). */
    private boolean defined() {
        for (int a = 0; a < values.length; a++) {
            for (int b = 0; b < values[a].length; b++) {
                if (!Double.isNaN(values[a][b]) && !masked(a, b)) {
                    return true;
                }
            }
        }
        return false;
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
        PngWriter.write(toImage(), file);
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
