package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.Color;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

/** The heatmap figures read back as pixels: masked diagonal, the colour bar spanning the data, cell annotations. */
class HeatmapFigureTest {
    /** 4 layers, off-diagonal phi from 0.01 (cell 0,1) to 0.05 (cell 2,3), the diagonal 1 as phi is there. */
    static double[][] values() {
        double[][] v = {
            {1, 0.01, 0.02, 0.03},
            {0.01, 1, 0.025, 0.035},
            {0.02, 0.025, 1, 0.05},
            {0.03, 0.035, 0.05, 1}};
        return v;
    }

    static HeatmapFigure figure(double[][] v, HeatmapFigure.ColourScale scale) {
        int[] layers = new int[v.length];
        for (int k = 0; k < layers.length; k++) {
            layers[k] = k;
        }
        return new HeatmapFigure("m C_A, left vectors, i=8, j=8, n=768: average over layer pairs a != b = 0.0283",
                "random subspaces 0.0104", "layer b", "layer a", layers, v, scale);
    }

    static int count(BufferedImage img, Color c) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if (close(new Color(img.getRGB(x, y)), c)) {
                    n++;
                }
            }
        }
        return n;
    }

    /** The bounding box of the pixels of colour {@code c} left of {@code maxX} (the plot, not the colour bar). */
    static Rectangle box(BufferedImage img, Color c, int maxX) {
        Rectangle r = null;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < maxX; x++) {
                if (close(new Color(img.getRGB(x, y)), c)) {
                    r = r == null ? new Rectangle(x, y, 1, 1) : r.union(new Rectangle(x, y, 1, 1));
                }
            }
        }
        return r;
    }

    static boolean close(Color a, Color b) {
        return Math.abs(a.getRed() - b.getRed()) + Math.abs(a.getGreen() - b.getGreen())
                + Math.abs(a.getBlue() - b.getBlue()) < 6;
    }

    /** The demo's value C_A (left) with 4 draws of each null. */
    private static io.github.convsim.similarity.Heatmap demoValueA() throws Exception {
        try (var cs = io.github.convsim.api.Convsim.open(io.github.convsim.TestData.bertAdapter(),
                io.github.convsim.TestData.bertBase(), "cpu")) {
            var r = cs.analyze(io.github.convsim.results.AnalysisOptions.builder().modules("value")
                    .similarity(io.github.convsim.similarity.SimilaritySettings.builder()
                            .factors(io.github.convsim.conversion.Factor.A).draws(4).build()).build());
            return r.module("value").heatmap("C_A", io.github.convsim.similarity.Side.LEFT).orElseThrow();
        }
    }

    @Test
    void thePanelSetsTheMapBesideItsNullsOnOneScaleAndItsZMapOnASignedOne() throws Exception {
        var h = demoValueA();
        PanelFigure p = Figures.panel(h, false);
        assertEquals(4, p.panels().size(), "observed, Gaussian null, W0 null, z");
        assertEquals(p.panels().get(0).scale(), p.panels().get(1).scale());
        assertEquals(p.panels().get(0).scale(), p.panels().get(2).scale());
        HeatmapFigure.ColourScale z = p.panels().get(3).scale();
        assertTrue(z.diverging() && z.min() == -z.max() && z.max() >= 1, z.toString());
        double[][] zmap = Figures.zMap(h);
        double largest = 0;
        for (int a = 0; a < zmap.length; a++) {
            for (int b = 0; b < zmap.length; b++) {
                if (a != b) {
                    largest = Math.max(largest, Math.abs(zmap[a][b]));
                }
            }
        }
        assertEquals(Math.max(1, largest), z.max(), 1e-12, "the z scale spans the largest |z|");
        BufferedImage img = p.toImage();
        assertEquals(p.width(), img.getWidth());
        assertEquals(p.panels().stream().mapToInt(HeatmapFigure::width).sum(), img.getWidth());
        // a z-map cell above the W0 null is red, one below blue
        assertTrue(z.colour(z.max()).getRed() > z.colour(z.max()).getBlue());
        assertTrue(z.colour(z.min()).getBlue() > z.colour(z.min()).getRed());
    }

    @Test
    void valuesAtBothEndsOfEitherScaleAreDrawn() {
        double[][] z = {{Double.NaN, -3, 0}, {3, Double.NaN, 1.5}, {-1.5, 0.5, Double.NaN}};
        for (HeatmapFigure.ColourScale scale : java.util.List.of(HeatmapFigure.ColourScale.symmetric("z", z),
                HeatmapFigure.ColourScale.fitted("phi", z))) {
            BufferedImage img = figure(z, scale).toImage();
            assertTrue(count(img, scale.colour(scale.max())) > 30 * 30, scale + ": the cell at the top end");
            assertTrue(count(img, scale.colour(scale.min())) > 30 * 30, scale + ": the cell at the bottom end");
        }
    }

    @Test
    void theFittedScaleSpansTheOffDiagonalValuesOfTheWholeSet() {
        double[][] nullMean = {{1, 0.02, 0.02, 0.02}, {0.02, 1, 0.02, 0.07}, {0.02, 0.07, 1, 0.02}, {0.02, 0.02, 0.02, 1}};
        HeatmapFigure.ColourScale s = HeatmapFigure.ColourScale.fitted("phi", values(), nullMean, null);
        assertEquals(0.01, s.min(), 0);
        assertEquals(0.07, s.max(), 0, "the null's larger value, not the diagonal's 1");
        assertTrue(s.maskDiagonal());
        HeatmapFigure.ColourScale flat = HeatmapFigure.ColourScale.fitted("phi", new double[][] {{1, 0.5}, {0.5, 1}});
        assertEquals(0.5, (flat.min() + flat.max()) / 2, 1e-12);
        assertTrue(flat.max() > flat.min(), "a constant map still gets a scale");
    }

    @Test
    void theDiagonalIsMaskedAndTheExtremeCellsTakeTheEndsOfTheScale() {
        HeatmapFigure f = figure(values(), HeatmapFigure.ColourScale.fitted("phi(i=8, j=8)", values()));
        BufferedImage img = f.toImage();
        int plotRight = img.getWidth() - HeatmapFigure.BAR_ROOM;
        // four masked diagonal cells of 44 x 44 pixels, less nothing: no text is drawn on them
        assertTrue(count(img, HeatmapFigure.UNDEFINED) >= 4 * 40 * 40, "grey pixels " + count(img, HeatmapFigure.UNDEFINED));
        // the largest off-diagonal value (0.05, cells (2,3) and (3,2)) is the top colour of the bar, the smallest
        // (0.01, cells (0,1) and (1,0)) its bottom colour: the bar spans exactly the data
        Rectangle top = box(img, Viridis.at(1.0), plotRight);
        Rectangle bottom = box(img, Viridis.at(0.0), plotRight);
        assertNotNull(top, "no cell in the colour of the scale's top");
        assertNotNull(bottom, "no cell in the colour of the scale's bottom");
        assertTrue(count(img, Viridis.at(1.0)) > 2 * 30 * 30, "two cells at the top of the scale");
        assertTrue(top.y > bottom.y, "the 0.05 cells sit lower (rows 2 and 3) than the 0.01 cells (rows 0 and 1)");
        // the bar itself, right of the plot, holds both ends too
        assertTrue(box(img, Viridis.at(1.0), img.getWidth()).getMaxX() > plotRight);
    }

    /**
     * The paper's scale: 0..1 for every figure of the set, the diagonal shown at the top colour (phi = 1) and no cell
     * masked; the panel's z-map keeps its own signed scale.
     */
    @Test
    void thePaperScaleIsZeroToOneWithTheDiagonalShown() throws Exception {
        var h = demoValueA();
        var figures = Figures.of(h, Figures.Scale.PAPER);
        assertEquals(Figures.of(h).keySet(), figures.keySet(), "the same figures, on another scale");
        for (HeatmapFigure f : figures.values()) {
            assertEquals(new HeatmapFigure.ColourScale(0, 1, "phi(i=8, j=8)", false), f.scale());
        }
        PanelFigure p = Figures.panel(h, false, Figures.Scale.PAPER);
        assertEquals(figures.get(h.stem()).scale(), p.panels().get(0).scale());
        assertTrue(p.panels().get(3).scale().diverging());
        BufferedImage img = figures.get(h.stem()).toImage();
        int plotRight = img.getWidth() - HeatmapFigure.BAR_ROOM;
        assertTrue(count(img, HeatmapFigure.UNDEFINED) < 30 * 30, "no masked cell");
        // 12 diagonal cells at phi = 1, in the colour of the scale's top; every off-diagonal phi (0.01 to 0.05)
        // sits in the darkest tenth, as in the paper's figures
        assertTrue(count(img, Viridis.at(1.0)) > 12 * 30 * 30, "diagonal pixels " + count(img, Viridis.at(1.0)));
        assertTrue(count(img, Viridis.at(1.0)) < 13 * 60 * 60, "only the diagonal (and the bar's top) is 1");
        Rectangle top = box(img, Viridis.at(1.0), plotRight);
        assertTrue(top.width > 11 * 40 && Math.abs(top.width - top.height) < 10, "corner to corner: " + top);
        assertNotNull(box(img, Viridis.at(0.0), plotRight), "off-diagonal cells near the bottom of 0..1");
        // the fitted default masks the diagonal instead
        assertTrue(count(Figures.of(h).get(h.stem()).toImage(), HeatmapFigure.UNDEFINED) > 12 * 40 * 40);
    }

    @Test
    void theWidestAnnotationFitsItsCell() {
        java.awt.Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
        g.setRenderingHint(java.awt.RenderingHints.KEY_TEXT_ANTIALIASING,
                java.awt.RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        // the demo's 12 layers draw cells about 49 pixels wide, 16 layers about 36; 11 points spill over at 49
        assertTrue(g.getFontMetrics(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 11))
                .stringWidth(HeatmapFigure.WIDEST_ANNOTATION) > 45, "the case this guards against");
        for (double cell : new double[] {49, 36, 30}) {
            java.awt.Font f = HeatmapFigure.annotationFont(g, cell);
            int width = g.getFontMetrics(f).stringWidth(HeatmapFigure.WIDEST_ANNOTATION);
            assertTrue(width <= cell - 4, f.getSize() + " points take " + width + " pixels of a " + cell + " cell");
            assertTrue(f.getSize() >= 7);
        }
        assertEquals(11, HeatmapFigure.annotationFont(g, 120).getSize(), "wide cells keep the largest font");
        g.dispose();
    }

    @Test
    void cellsAreAnnotatedUpToSixteenLayersAndNotBeyond() {
        double[][] v = values();
        HeatmapFigure.ColourScale scale = HeatmapFigure.ColourScale.fitted("phi", v);
        BufferedImage small = figure(v, scale).toImage();
        Rectangle cell = box(small, Viridis.at(1.0), small.getWidth() - HeatmapFigure.BAR_ROOM);
        // inside the top-coloured cells the text (black on yellow) leaves pixels of other colours
        int text = 0;
        for (int y = cell.y; y < cell.getMaxY(); y++) {
            for (int x = cell.x; x < cell.getMaxX(); x++) {
                Color c = new Color(small.getRGB(x, y));
                if (c.getRed() + c.getGreen() + c.getBlue() < 200) {
                    text++;
                }
            }
        }
        assertTrue(text > 20, "annotation pixels in the 0.05 cell: " + text);

        int n = HeatmapFigure.ANNOTATED_LAYERS + 1;
        double[][] big = new double[n][n];
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                big[a][b] = a == b ? 1 : (a + b) % 2 == 0 ? 0.05 : 0.01;
            }
        }
        BufferedImage large = figure(big, HeatmapFigure.ColourScale.fitted("phi", big)).toImage();
        Rectangle plot = new Rectangle(0, 0, large.getWidth() - HeatmapFigure.BAR_ROOM, large.getHeight());
        int dark = 0;
        Rectangle topCells = box(large, Viridis.at(1.0), plot.width);
        for (int y = topCells.y; y < topCells.getMaxY(); y++) {
            for (int x = topCells.x; x < topCells.getMaxX(); x++) {
                Color c = new Color(large.getRGB(x, y));
                if (c.getRed() + c.getGreen() + c.getBlue() < 60) {
                    dark++;
                }
            }
        }
        assertEquals(0, dark, "no black annotation text above 16 layers");
    }
}
