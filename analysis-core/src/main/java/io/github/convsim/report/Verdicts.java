package io.github.convsim.report;

import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.PlantedControl;
import io.github.convsim.similarity.PowerCurve;
import io.github.convsim.similarity.SimilaritySettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Verdicts on the maps of an analysis, judged as one family, and the sentences that say them. */
public final class Verdicts {
    private Verdicts() {}

    /** Every map of the analysis judged as one family (see {@link MapVerdict#judge}). */
    public static List<MapVerdict> of(AnalysisResult r, Correction correction) {
        List<Heatmap> all = new ArrayList<>();
        for (ModuleResult m : r.modules()) {
            all.addAll(m.heatmaps());
        }
        return MapVerdict.judge(all, correction, MapVerdict.ALPHA);
    }

    /** One map judged alone (no correction): for a single map in a notebook. */
    public static String interpretation(Heatmap h) {
        return interpretation(MapVerdict.judge(List.of(h), Correction.NONE, MapVerdict.ALPHA).get(0));
    }

    /** One sentence: the observed average against the nulls, the verdict, and the numbers it follows from. */
    public static String interpretation(MapVerdict v) {
        Heatmap h = v.map();
        String undefined = MapVerdict.whyUndefined(h); // a control's too
        if (undefined != null) {
            return String.format(Locale.ROOT, "%s %s (%s): no similarity: %s.", h.module(), h.subject(),
                    h.side().label(), undefined);
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s %s (%s, i=%d, j=%d%s): average %.4f", h.module(), h.subject(),
                h.side().label(), h.i(), h.j(), h.mixedRanks() ? " of layers of ranks " + h.rankRange() : "",
                h.average()));
        List<Integer> out = h.layersLeftOut();
        if (!out.isEmpty()) {
            sb.append(String.format(Locale.ROOT, " without %s (%s; left out of the nulls too)", layers(out),
                    MapVerdict.shortfall(h, out)));
        }
        if (!Double.isNaN(h.analytic())) {
            sb.append(String.format(Locale.ROOT, "; random subspaces give %.4f", h.analytic()));
        }
        if (h.gaussian() != null) {
            sb.append(String.format(Locale.ROOT, ", the Gaussian baseline %s", interval(h.gaussian())));
        }
        if (h.w0() != null) {
            sb.append(String.format(Locale.ROOT, ", the W0 null %s", interval(h.w0())));
        }
        switch (v.status()) {
            case TESTED -> {
                String test = String.format(Locale.ROOT, "effect %.1f sd; %s, %s", h.w0().effectSize(h.average()),
                        pIs(v.p()), adjusted(v.correction(), v.familySize(), "maps", v.pAdjusted()));
                sb.append(v.exceeds()
                        ? ". It exceeds what W0 alone produces (" + test + " < " + v.alpha()
                                + "): similarity beyond the frozen weights."
                        : ". It does not exceed what W0 alone produces (" + test + "): the W0 null accounts for this"
                                + " similarity; " + powerClause(v) + fewDraws(v.power(), h.w0().draws(),
                                SimilaritySettings.DEFAULT_DRAWS, "draws", SimilaritySettings.DEFAULT_DRAWS) + ".");
            }
            case DUPLICATE -> sb.append(". ").append(capitalised(v.reason())).append("; its verdict is ")
                    .append(v.duplicateOf().subject()).append("'s: ").append(v.answer()).append('.');
            case DEGENERATE -> sb.append(". No verdict: ").append(v.reason()).append('.');
            case NO_NULL -> {
                MapVerdict.GaussianTest g = v.gaussian();
                if (g != null) {
                    boolean above = g.pAdjusted() < v.alpha();
                    sb.append(String.format(Locale.ROOT, ". %s the Gaussian baseline (%s, %s%s); the W0 null"
                            + " was not computed, so nothing is said about W0.", above ? "Above" : "Not above",
                            pIs(g.p()), adjusted(v.correction(), g.familySize(), "maps", g.pAdjusted()),
                            above && v.correction() != Correction.NONE ? " < " + v.alpha() : ""));
                } else {
                    sb.append(". No sampled null was drawn (gaussian, w0), so there is no verdict.");
                }
            }
            default -> sb.append('.');
        }
        if (!v.decided()) {
            sb.append(undecided("the W0 null's", h.w0().draws(), v.pLow(), v.pHigh()));
        }
        if (h.subject().equals("C_dW") && h.side() == io.github.convsim.similarity.Side.RIGHT) {
            sb.append(" On the right, C_dW = (W0^-1 B) A has A's row space whatever W0 is: this map follows A across"
                    + " layers (as the A^T control does), not what W0 converts.");
        }
        return sb.toString();
    }

    /** What a 'no' rules out: the strongest shared map the test would have detected, from the planted controls. */
    static String powerClause(MapVerdict v) {
        PowerCurve.Detectable d = v.power();
        if (d == null) {
            return "its power was not estimated, so a 'no' says no shared map was detected, not that there is none";
        }
        Heatmap h = v.map();
        io.github.convsim.similarity.Side side = h.side();
        // on the right C_dW's plants share A's rows (SimilarityAnalysis.plantsDwRight), elsewhere a conversion matrix
        boolean rows = h.subject().equals("C_dW") && side == io.github.convsim.similarity.Side.RIGHT;
        String what = rows ? "A's rows shared by all layers" : "a conversion matrix shared by all layers";
        // layers of several ranks: the plants share one map of the largest rank, each layer its first r columns
        String shared = h.mixedRanks() ? " (one map of rank " + h.largestRank() + ", each layer taking as many of its"
                + " columns as its rank)" : "";
        // below its rank C_dW is planted as a shared C_B times each layer's own A (SimilarityAnalysis.plantsDw)
        if (h.subject().equals("C_dW") && side == io.github.convsim.similarity.Side.LEFT
                && Math.min(h.i(), h.j()) < h.largestRank()) {
            shared += " (C_B's, in C_dW = C_B A, with each layer's A Gaussian as in the W0 null)";
        }
        if (rows) {
            shared += " (C_dW's right singular vectors are A's row space whatever W0 is; each layer's B Gaussian as in"
                    + " the W0 null)";
        }
        String size = rows ? "their" : "its";
        if (d.none()) {
            return String.format(Locale.ROOT, "even %s%s with noise %s of %s size is detected in %s, so this 'no'"
                    + " rules out nothing", what, shared, noise(PlantedControl.NOISE[0]), size, detected(d));
        }
        return String.format(Locale.ROOT, "it detects %s%s up to noise %s of %s size%s (plants averaging phi %.4f) in"
                + " %s, so a 'no' rules out %s", what, shared, noise(d.noise()), size,
                largestPlanted(d.noise(), PlantedControl.NOISE), d.plantMean(), detected(d),
                rows ? "rows shared that closely" : "a shared map that strong");
    }

    /**
     * The sentence of a test whose answer differs between the two ends of its p's range over resamplings of the
     * null's draws ({@code whose}: "the W0 null's", "the nulls'").
     */
    static String undecided(String whose, int draws, double pLow, double pHigh) {
        return String.format(Locale.ROOT, " Not decided by %s %d draws: over resamplings of them p lies between %s and"
                + " %s, and the answer differs between the two ends; rerun with more --draws before relying on it.",
                whose, draws, p(pLow), p(pHigh));
    }

    /**
     * How many plants were detected at the noise a power clause names, against the 80 % it needs: "8 of 8 plants", or
     * "3 of 8 plants (fewer than 80 %)" where even the least noise falls short.
     */
    static String detected(PowerCurve.Detectable d) {
        return d.detected() + " of " + d.repetitions() + " plants" + (d.none() ? " (fewer than 80 %)" : "");
    }

    /**
     * Where even the least noise's plants are detected too rarely and the W0 null has fewer than the default
     * {@code usual} samples ({@code what}: "draws", or compare's "pairs of draws"), what a user can do: few samples
     * leave the fitted null's p large however far a map lies from it. Empty otherwise.
     */
    static String fewDraws(PowerCurve.Detectable d, int samples, int usual, String what, int defaultDraws) {
        return d == null || !d.none() || samples >= usual ? "" : String.format(Locale.ROOT, " (the W0 null has only"
                + " %d %s, too few for a small p: more --draws, %d by default, sharpen the test)", samples, what,
                defaultDraws);
    }

    /** ", the largest planted" where plants at every noise level were detected (the limit may lie beyond). */
    static String largestPlanted(double noise, double[] levels) {
        return noise >= levels[levels.length - 1] ? ", the largest planted" : "";
    }

    /** A relative noise level to three significant figures, without trailing zeros: 0.2, 7.5, 50. */
    static String noise(double v) {
        return new java.math.BigDecimal(String.format(Locale.ROOT, "%.3g", v)).stripTrailingZeros().toPlainString();
    }

    /** "Holm-adjusted over 4 maps 0.012"; {@code members} is a plural ("maps", "tests"), singular for a family of one. */
    static String adjusted(Correction c, int familySize, String members, double pAdjusted) {
        String counted = familySize == 1 ? members.substring(0, members.length() - 1) : members;
        return c == Correction.NONE ? "uncorrected"
                : correctionName(c) + "-adjusted over " + familySize + " " + counted + " " + p(pAdjusted);
    }

    static String correctionName(Correction c) {
        return c == Correction.HOLM ? "Holm" : c == Correction.BH ? "BH" : "un";
    }

    /** "p = 0.024", or "p < 2.2e-308" where the tail underflowed: a p-value in a sentence. */
    static String pIs(double p) {
        String v = p(p);
        return v.startsWith("<") ? "p " + v : "p = " + v;
    }

    /**
     * A p-value to two significant figures, small ones in scientific notation; one below the smallest normal double
     * (a tail beyond the arithmetic, computed as 0) as a bound, never as "0.0e+00".
     */
    public static String p(double p) {
        if (Double.isNaN(p)) {
            return "n/a";
        }
        if (p < Double.MIN_NORMAL) {
            return "< 2.2e-308";
        }
        return p >= 0.001 ? String.format(Locale.ROOT, "%.3f", p) : String.format(Locale.ROOT, "%.1e", p);
    }

    /** "layer 5", or "layers 5, 7": layer indices in a sentence. */
    public static String layers(List<Integer> layers) {
        return (layers.size() == 1 ? "layer " : "layers ") + layers.stream().map(String::valueOf)
                .collect(java.util.stream.Collectors.joining(", "));
    }

    static String capitalised(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /** "mean [lo, hi]" of a null's averages; "n/a" where it has none (an undefined map). */
    static String interval(NullDistribution n) {
        if (Double.isNaN(n.averageMean())) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.4f [%.4f, %.4f]", n.averageMean(), n.averageLo(), n.averageHi());
    }
}
