package io.github.convsim.report;

import io.github.convsim.similarity.Heatmap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** The figures of one heatmap, by file stem: the observed map and the mean of each sampled null. */
public final class Figures {
    private Figures() {}

    public static Map<String, HeatmapFigure> of(Heatmap h) {
        Map<String, HeatmapFigure> out = new LinkedHashMap<>();
        out.put(h.stem(), observed(h));
        if (h.gaussian() != null) {
            out.put(h.stem() + ".gaussian", nullFigure(h, "Gaussian null", h.gaussian().mean(),
                    h.gaussian().averageMean(), h.gaussian().draws()));
        }
        if (h.w0() != null) {
            out.put(h.stem() + ".w0", nullFigure(h, "W0 null", h.w0().mean(), h.w0().averageMean(), h.w0().draws()));
        }
        return out;
    }

    /** The paper's figure: "Average Similarity = 0.xxxx". */
    public static HeatmapFigure observed(Heatmap h) {
        return new HeatmapFigure("Average Similarity = " + average(h.average()), context(h),
                "layer", "layer", h.layers(), h.phi());
    }

    public static HeatmapFigure nullFigure(Heatmap h, String name, double[][] mean, double average, int draws) {
        return new HeatmapFigure(name + ": Average Similarity = " + average(average),
                context(h) + ", mean of " + draws + " draws", "layer", "layer", h.layers(), mean);
    }

    /** An average for a title: four places, or "n/a (undefined)" where no cell is defined (a zero factor). */
    static String average(double v) {
        return Double.isNaN(v) ? "n/a (undefined: a factor is zero in every layer)" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String context(Heatmap h) {
        return String.format(Locale.ROOT, "%s · %s · %s · i=%d, j=%d", h.module(), h.subject(), h.side().label(), h.i(),
                h.j());
    }
}
