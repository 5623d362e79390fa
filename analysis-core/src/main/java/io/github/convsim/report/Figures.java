package io.github.convsim.report;

import io.github.convsim.similarity.Heatmap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one heatmap, by file stem: the observed map and the mean of each sampled null, on one colour scale
 * (so the observed map and its nulls can be compared cell by cell): fitted to the off-diagonal values of all of them,
 * or the paper's fixed 0..1 ({@link Scale}),
 * each titled with what it shows: module, matrix, side, i, j and the dimension n, and the average over layer pairs.
 */
public final class Figures {
    private Figures() {}

    /** How the colours of a figure set span phi. */
    public enum Scale {
        /** From the smallest to the largest off-diagonal value of the map and its nulls, the diagonal masked. */
        FITTED,
        /** The paper's: a fixed 0..1 for every map, the diagonal (a layer against itself, phi = 1) shown. */
        PAPER;

        /** "fitted" or "paper", as the command line names them. */
        public static Scale parse(String name) {
            for (Scale s : values()) {
                if (s.name().equalsIgnoreCase(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown figure scale '" + name + "' (fitted or paper)");
        }
    }

    /** The figures of {@code h} on the fitted scale. */
    public static Map<String, HeatmapFigure> of(Heatmap h) {
        return of(h, Scale.FITTED);
    }

    public static Map<String, HeatmapFigure> of(Heatmap h, Scale s) {
        HeatmapFigure.ColourScale scale = scaleOf(h, s);
        Map<String, HeatmapFigure> out = new LinkedHashMap<>();
        out.put(h.stem(), observed(h, scale));
        if (h.gaussian() != null) {
            out.put(h.stem() + ".gaussian", nullFigure(h, "Gaussian null", h.gaussian().mean(),
                    h.gaussian().averageMean(), h.gaussian().draws(), scale));
        }
        if (h.w0() != null) {
            out.put(h.stem() + ".w0", nullFigure(h, "W0 null", h.w0().mean(), h.w0().averageMean(), h.w0().draws(),
                    scale));
        }
        return out;
    }

    /**
     * What the figure {@code stem} of {@link #of}{@code (h)} shows, for a column head or caption: "observed",
     * "Gaussian null" or "W0 null".
     */
    public static String shows(Heatmap h, String stem) {
        if (stem.equals(h.stem())) {
            return "observed";
        }
        if (stem.equals(h.stem() + ".gaussian")) {
            return "Gaussian null";
        }
        if (stem.equals(h.stem() + ".w0")) {
            return "W0 null";
        }
        throw new IllegalArgumentException("'" + stem + "' is not a figure of " + h.stem());
    }

    /** The panels of {@link #panel} before its z-map, left to right: no Gaussian null where none was drawn. */
    public static String panelLayout(Heatmap h) {
        return h.gaussian() == null ? "observed | W0 null" : "observed | Gaussian null | W0 null";
    }

    /**
     * Whether {@link #panel} ends with a z-map: where there is a W0 null, and phi is neither 1 nor W0's alone by
     * construction (there every cell's z would be rounding over rounding, up to 4 in magnitude on the demo's right
     * singular vectors).
     */
    public static boolean hasZMap(Heatmap h) {
        return h.w0() != null && !h.degenerate();
    }

    /** How {@link #panel} is laid out, for a caption ("observed | W0 null on one scale and the z-map against ..."). */
    public static String panelCaption(Heatmap h) {
        return panelLayout(h) + " on one scale" + (hasZMap(h) ? " and the z-map against the W0 null"
                : h.spansWholeSpace() ? " (no z-map: phi is 1 by construction, so the map and its nulls differ by"
                        + " rounding only)" : " (no z-map: the map is W0's alone by construction, so it and its W0 null"
                        + " differ by rounding only)");
    }

    /**
     * The figure for a paper: observed | Gaussian null (where drawn) | W0 null on one colour scale, then the z-map
     * (observed - W0 null mean) / W0 null sd per cell on a diverging scale ({@link #hasZMap}); the nulls as the mean of
     * their draws, or as their first draw when {@code oneDraw} (a mean is smoother than any single map it stands for).
     */
    public static PanelFigure panel(Heatmap h, boolean oneDraw) {
        return panel(h, oneDraw, Scale.FITTED);
    }

    /** {@link #panel(Heatmap, boolean)} with the map and its nulls on the given scale (the z-map keeps its own). */
    public static PanelFigure panel(Heatmap h, boolean oneDraw, Scale s) {
        HeatmapFigure.ColourScale scale = scaleOf(h, s);
        java.util.List<HeatmapFigure> panels = new java.util.ArrayList<>();
        panels.add(observed(h, scale));
        if (h.gaussian() != null) {
            panels.add(nullPanel(h, "Gaussian null", h.gaussian(), oneDraw, scale));
        }
        if (h.w0() != null) {
            // one colour bar, on the last panel of the shared scale
            panels.replaceAll(HeatmapFigure::withoutBar);
            panels.add(nullPanel(h, "W0 null", h.w0(), oneDraw, scale));
        }
        if (hasZMap(h)) {
            double[][] z = zMap(h);
            panels.add(new HeatmapFigure("z vs the W0 null: " + context(h), "Each cell: (observed - W0 null mean) / W0"
                    + " null sd over " + h.w0().draws() + " draws. Red: more similar than W0 alone makes the pair;"
                    + " blue: less.", "layer b", "layer a", h.layers(), z,
                    HeatmapFigure.ColourScale.symmetric("z", z)));
        }
        return new PanelFigure(panels);
    }

    private static HeatmapFigure nullPanel(Heatmap h, String name, io.github.convsim.similarity.NullDistribution n,
                                           boolean oneDraw, HeatmapFigure.ColourScale scale) {
        if (!oneDraw) {
            return nullFigure(h, name, n.mean(), n.averageMean(), n.draws(), scale);
        }
        return new HeatmapFigure(name + ", one draw: " + context(h), "The first of " + n.draws() + " draws; average"
                + " over layer pairs a != b: " + average(n.averages()[0]) + ".", "layer b", "layer a", h.layers(),
                n.firstDraw(), scale);
    }

    /** (observed - W0 null mean) / W0 null sd per cell; NaN where either is undefined or the sd is 0. */
    static double[][] zMap(Heatmap h) {
        int n = h.phi().length;
        double[][] z = new double[n][n];
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                double sd = h.w0().sd()[a][b];
                z[a][b] = sd > 0 ? (h.phi()[a][b] - h.w0().mean()[a][b]) / sd : Double.NaN;
            }
        }
        return z;
    }

    /** The scale a heatmap's figures share: its off-diagonal values and its nulls' means, min to max. */
    public static HeatmapFigure.ColourScale scaleOf(Heatmap h) {
        return scaleOf(h, Scale.FITTED);
    }

    static HeatmapFigure.ColourScale scaleOf(Heatmap h, Scale s) {
        String label = "phi(i=" + h.i() + ", j=" + h.j() + ")";
        return s == Scale.PAPER ? HeatmapFigure.ColourScale.unit(label) : HeatmapFigure.ColourScale.fitted(label,
                h.phi(), h.gaussian() == null ? null : h.gaussian().mean(), h.w0() == null ? null : h.w0().mean());
    }

    /** The observed map, on the fitted scale of its figure set. */
    public static HeatmapFigure observed(Heatmap h) {
        return observed(h, Scale.FITTED);
    }

    /** The observed map, on the given scale. */
    public static HeatmapFigure observed(Heatmap h, Scale s) {
        return observed(h, scaleOf(h, s));
    }

    static HeatmapFigure observed(Heatmap h, HeatmapFigure.ColourScale scale) {
        return new HeatmapFigure(context(h), "Average over layer pairs a != b: " + average(h.average())
                + nullsNote(h) + (scale.maskDiagonal() ? ". The diagonal (a layer against itself) is masked; one colour"
                + " scale for the map and its nulls." : ". The paper's scale, 0 to 1, for the map and its nulls; the"
                + " diagonal is a layer against itself (phi = 1)."), "layer b", "layer a", h.layers(), h.phi(), scale);
    }

    /** A null's mean map, on the scale of its figure set. */
    public static HeatmapFigure nullFigure(Heatmap h, String name, double[][] mean, double average, int draws) {
        return nullFigure(h, name, mean, average, draws, scaleOf(h));
    }

    static HeatmapFigure nullFigure(Heatmap h, String name, double[][] mean, double average, int draws,
                                    HeatmapFigure.ColourScale scale) {
        return new HeatmapFigure(name + ": " + context(h), "Mean of " + draws + " draws; average over layer pairs"
                + " a != b: " + average(average) + " (the observed map: " + average(h.average()) + ")."
                + (scale.maskDiagonal() ? " The diagonal is masked; the colour scale is the observed map's."
                : " The paper's scale, 0 to 1, as the observed map's."), "layer b", "layer a",
                h.layers(), mean, scale);
    }

    /** An average for a title: four places, or "n/a (undefined)" where no cell is defined (a zero factor). */
    static String average(double v) {
        return Double.isNaN(v) ? "n/a (undefined: a factor is zero in every layer)" : String.format(Locale.ROOT, "%.4f", v);
    }

    /** The nulls' averages beside the observed one. */
    private static String nullsNote(Heatmap h) {
        StringBuilder sb = new StringBuilder("; random subspaces " + average(h.analytic()));
        if (h.gaussian() != null) {
            sb.append(", Gaussian null ").append(average(h.gaussian().averageMean()));
        }
        if (h.w0() != null) {
            sb.append(String.format(Locale.ROOT, ", W0 null %s [%.4f, %.4f]", average(h.w0().averageMean()),
                    h.w0().averageLo(), h.w0().averageHi()));
        }
        return sb.toString();
    }

    private static String context(Heatmap h) {
        return String.format(Locale.ROOT, "%s %s, %s vectors, i=%d, j=%d, n=%d%s", h.module(), h.subject(),
                h.side().label(), h.i(), h.j(), h.dimension(), h.mixedRanks() ? ", ranks " + h.rankRange() : "");
    }
}
