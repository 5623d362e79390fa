package io.github.convsim.report;

import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullDistribution;
import java.util.Locale;

/** Sentences about a heatmap computed from its numbers, for reports and notebooks. */
public final class Verdicts {
    private Verdicts() {}

    /** "yes", "no", or "n/a" when the W0 null was not computed or phi is undefined. */
    public static String exceedsW0(Heatmap h) {
        if (h.w0() == null || Double.isNaN(h.average())) {
            return "n/a";
        }
        return h.exceedsW0Null() ? "yes" : "no";
    }

    /** One sentence: the observed average against the nulls, and what it means. */
    public static String interpretation(Heatmap h) {
        if (Double.isNaN(h.average())) {
            return String.format(Locale.ROOT, "%s %s: similarity is undefined (a layer's %s has rank below i or j).",
                    h.module(), h.subject(), h.subject());
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s %s (%s, i=%d, j=%d): average %.4f", h.module(), h.subject(),
                h.side().label(), h.i(), h.j(), h.average()));
        if (!Double.isNaN(h.analytic())) {
            sb.append(String.format(Locale.ROOT, "; random subspaces give %.4f", h.analytic()));
        }
        if (h.gaussian() != null) {
            sb.append(String.format(Locale.ROOT, ", the Gaussian baseline %s", interval(h.gaussian())));
        }
        if (h.w0() != null) {
            NullDistribution w = h.w0();
            sb.append(String.format(Locale.ROOT, ", the W0 null %s", interval(w)));
            double p = w.pValue(h.average());
            if (h.exceedsW0Null()) {
                sb.append(String.format(Locale.ROOT, ". It exceeds what W0 alone produces (p = %.3f, effect %.1f sd):"
                        + " similarity beyond the frozen weights.", p, w.effectSize(h.average())));
            } else {
                sb.append(String.format(Locale.ROOT, ". It does not exceed what W0 alone produces (p = %.3f): the"
                        + " W0 null accounts for this similarity.", p));
            }
        } else if (h.gaussian() != null) {
            double p = h.gaussian().pValue(h.average());
            sb.append(String.format(Locale.ROOT, ". %s the Gaussian baseline (p = %.3f).",
                    p < 0.05 ? "Above" : "Not above", p));
        } else {
            sb.append('.');
        }
        return sb.toString();
    }

    static String interval(NullDistribution n) {
        return String.format(Locale.ROOT, "%.4f [%.4f, %.4f]", n.averageMean(), n.averageLo(), n.averageHi());
    }
}
