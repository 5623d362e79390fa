package io.github.convsim.similarity;

import io.github.convsim.similarity.MultipleTesting.Correction;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether one map exceeds what W0 alone produces, judged with the other maps of its family.
 *
 * <p>The family of an analysis is every conversion map (not the raw-factor controls) that has a W0 null, a defined
 * average, and is neither degenerate nor a duplicate; its p-values (the fitted null's, see
 * {@link NullDistribution#pValue}) are adjusted together ({@link MultipleTesting}), and a map exceeds the W0 null
 * when its adjusted p is below alpha. The others get a status saying why they have no verdict.
 *
 * @param status       TESTED, or why not: DEGENERATE (phi is 1 by construction), DUPLICATE (the same map as another
 *                     one of the family), UNDEFINED (phi undefined), NO_NULL (the W0 null was not computed), CONTROL
 * @param reason       for every status but TESTED, one sentence; empty when tested
 * @param p            the fitted null's p-value (NaN without a test)
 * @param pMonteCarlo  the rank-based Monte Carlo p-value, for reference
 * @param pAdjusted    p adjusted for the family (NaN without a test)
 * @param familySize   how many maps the family holds
 * @param exceeds      whether pAdjusted is below alpha
 * @param duplicateOf  the map a DUPLICATE repeats; null otherwise
 * @param power        what the test could detect through this W0 (planted shared maps detected at p below alpha over
 *                     the family size, a Bonferroni bound on Holm's first step); null where not estimated
 * @param gaussian     the comparison with the paper's Gaussian baseline, adjusted over its own family (every conversion
 *                     map with a Gaussian null, a defined average, neither degenerate nor a duplicate); null for a map
 *                     outside it. It is what the sentence says where the W0 null was not drawn; it says nothing about W0
 * @param pLow         the low end of the central 99 % of p over resamplings of the W0 null's draws ({@link
 *                     NullDistribution#pValueRange}); NaN without a test
 * @param pHigh        its high end
 * @param decided      whether the verdict is the same at both ends, every map of the family taken at its own low end,
 *                     then at its high end (the corrections are monotone, so the verdict at p lies between): false
 *                     where another seed's draws of the W0 null could give the other answer
 */
public record MapVerdict(Heatmap map, Status status, String reason, double p, double pMonteCarlo, double pAdjusted,
                         Correction correction, double alpha, int familySize, boolean exceeds, Heatmap duplicateOf,
                         PowerCurve.Detectable power, GaussianTest gaussian, double pLow, double pHigh,
                         boolean decided) {

    /** A map's average against the Gaussian baseline: p, p adjusted over the Gaussian family, the family's size. */
    public record GaussianTest(double p, double pAdjusted, int familySize) {}

    public enum Status { TESTED, DEGENERATE, DUPLICATE, UNDEFINED, NO_NULL, CONTROL }

    /** The conventional level: a family-wise 5 % under Holm, a 5 % false discovery rate under BH. */
    public static final double ALPHA = 0.05;

    /** "yes", "no" (a duplicate answers as its twin), or "n/a" for a map without a verdict. */
    public String answer() {
        return status == Status.TESTED || status == Status.DUPLICATE ? (exceeds ? "yes" : "no") : "n/a";
    }

    /**
     * Judges every map of one analysis as one family; a map's power comes from its own planted controls ({@link
     * Heatmap#power}; not estimated where it has none).
     */
    public static List<MapVerdict> judge(List<Heatmap> maps, Correction correction, double alpha) {
        Map<Heatmap, Excluded> excluded = new IdentityHashMap<>();
        Map<Heatmap, Heatmap> duplicates = new IdentityHashMap<>();
        List<Heatmap> family = new ArrayList<>();
        for (Heatmap h : maps) {
            Excluded untestable = untestable(h);
            if (untestable != null) {
                excluded.put(h, untestable);
            } else if (h.w0() == null) {
                excluded.put(h, new Excluded(Status.NO_NULL, "the W0 null was not computed"));
            } else {
                Heatmap same = sameAs(h, family, Heatmap::w0);
                if (same != null) {
                    duplicates.put(h, same);
                    excluded.put(h, new Excluded(Status.DUPLICATE, duplicateReason(h.subject(), same.subject(),
                            same.side())));
                } else {
                    family.add(h);
                }
            }
        }
        Map<Heatmap, GaussianTest> gaussian = gaussianTests(maps, correction);
        double[] p = family.stream().mapToDouble(h -> h.w0().pValue(h.average())).toArray();
        double[] adjusted = MultipleTesting.adjust(p, correction);
        double[][] ranges = family.stream().map(h -> h.w0().pValueRange(h.average())).toArray(double[][]::new);
        boolean[] decided = MultipleTesting.decided(java.util.Arrays.stream(ranges).mapToDouble(r -> r[0]).toArray(),
                java.util.Arrays.stream(ranges).mapToDouble(r -> r[1]).toArray(), correction, alpha);
        Map<Heatmap, Integer> index = new IdentityHashMap<>();
        for (int k = 0; k < family.size(); k++) {
            index.put(family.get(k), k);
        }
        List<MapVerdict> out = new ArrayList<>(maps.size());
        for (Heatmap h : maps) {
            Integer k = index.get(h);
            Heatmap dup = duplicates.get(h);
            Integer kd = dup == null ? null : index.get(dup);
            double mc = h.w0() == null ? Double.NaN : h.w0().pMonteCarlo(h.average());
            PowerCurve.Detectable detectable = h.power() != null && h.w0() != null && (k != null || dup != null)
                    ? h.power().detectable(h.w0(), MultipleTesting.detectionLevel(correction, alpha, family.size()))
                    : null;
            if (k != null) {
                out.add(new MapVerdict(h, Status.TESTED, "", p[k], mc, adjusted[k], correction, alpha, family.size(),
                        adjusted[k] < alpha, null, detectable, gaussian.get(h), ranges[k][0], ranges[k][1],
                        decided[k]));
            } else {
                Excluded e = excluded.get(h);
                out.add(new MapVerdict(h, e.status(), e.reason(), kd == null ? Double.NaN : p[kd], mc,
                        kd == null ? Double.NaN : adjusted[kd], correction, alpha, family.size(),
                        kd != null && adjusted[kd] < alpha, dup, detectable, gaussian.get(h),
                        kd == null ? Double.NaN : ranges[kd][0], kd == null ? Double.NaN : ranges[kd][1],
                        kd == null || decided[kd]));
            }
        }
        return out;
    }

    /**
     * The Gaussian baseline's tests: each conversion map with a Gaussian null and a defined, non-degenerate average
     * against it, p adjusted over those maps; a map equal in every cell to an earlier one shares its test.
     */
    private static Map<Heatmap, GaussianTest> gaussianTests(List<Heatmap> maps, Correction correction) {
        List<Heatmap> family = new ArrayList<>();
        Map<Heatmap, Heatmap> twins = new IdentityHashMap<>();
        for (Heatmap h : maps) {
            if (untestable(h) != null || h.gaussian() == null) {
                continue;
            }
            Heatmap same = sameAs(h, family, Heatmap::gaussian);
            if (same != null) {
                twins.put(h, same);
            } else {
                family.add(h);
            }
        }
        double[] p = family.stream().mapToDouble(h -> h.gaussian().pValue(h.average())).toArray();
        double[] adjusted = MultipleTesting.adjust(p, correction);
        Map<Heatmap, GaussianTest> out = new IdentityHashMap<>();
        for (int k = 0; k < family.size(); k++) {
            out.put(family.get(k), new GaussianTest(p[k], adjusted[k], family.size()));
        }
        twins.forEach((h, twin) -> out.put(h, out.get(twin)));
        return out;
    }

    /**
     * Why a map of {@code subject} whose W0 null has no spread ({@link NullDistribution#hasNoSpread}) has no verdict,
     * in analyze and in compare alike.
     */
    public static String w0AloneReason(String subject, int draws, int i) {
        return "the map is W0's alone by construction: all " + draws + " W0-null draws (random factors through the"
                + " same W0) give it to rounding, as where the solve puts " + subject + " in a subspace of W0 that i = "
                + i + " singular vectors span whole (least squares through a wide W0 puts C_B in W0's row space)";
    }

    /**
     * Why a map of {@code subject} equal in every cell to {@code twinSubject}'s on {@code side} is counted once: for
     * C_dW beside C_B on the left, because C_dW = C_B A spans C_B's columns; otherwise by equal phi alone.
     */
    public static String duplicateReason(String subject, String twinSubject, Side side) {
        boolean dwOfB = subject.equals("C_dW") && twinSubject.equals("C_B") && side == Side.LEFT;
        return "the same map as " + twinSubject + " " + side.label() + (dwOfB ? " (its subspaces are the same: C_dW"
                + " = C_B A spans C_B's columns when A has full row rank)" : " (phi equal in every cell)")
                + "; counted once";
    }

    /**
     * Why a map has no test against any null (a control, one layer, phi undefined, phi 1 by construction), or null
     * where it can be tested.
     */
    private static Excluded untestable(Heatmap h) {
        if (h.isControl()) {
            return new Excluded(Status.CONTROL, "a control (raw factors), not a conversion map");
        }
        String undefined = whyUndefined(h);
        if (undefined != null) {
            return new Excluded(Status.UNDEFINED, undefined);
        }
        if (h.spansWholeSpace()) {
            return new Excluded(Status.DEGENERATE, "phi is 1 by construction: " + (h.j() >= h.dimension()
                    ? "j = " + h.j() : "i = " + h.i()) + " singular vectors span the whole " + h.dimension()
                    + "-dimensional space they live in");
        }
        if (h.spansW0Subspace()) {
            return new Excluded(Status.DEGENERATE, "the map is W0's alone by construction: the solve uses at most "
                    + h.w0Subspace() + " of W0's singular directions (its rank through a non-square W0, or those"
                    + " above the lstsq or pinv cut-off: diagnostics.csv's solution_rank), so every layer's "
                    + h.subject() + " lies in the " + h.w0Subspace() + "-dimensional subspace they span, which i = "
                    + h.i() + " and j = " + h.j() + " singular vectors span whole");
        }
        if (h.determinedByW0()) {
            return new Excluded(Status.DEGENERATE, w0AloneReason(h.subject(), h.w0().draws(), h.i()));
        }
        return null;
    }

    /** Why a map (a control too) has no average: one layer, or no pair of layers defined; null where it has one. */
    public static String whyUndefined(Heatmap h) {
        if (h.layers().length < 2) {
            return "phi compares layers, and the adapter has one " + h.module() + " layer (" + h.layers()[0] + ")";
        }
        return Double.isNaN(h.average()) ? undefinedReason(h) : null;
    }

    /**
     * Why phi is undefined in every cell, from the layers' numerical ranks q: cell (a, b) is defined where q_a >= i and
     * q_b >= j, so i = j = k is defined for the layers with q >= k, and for a pair of them up to the second largest q.
     */
    private static String undefinedReason(Heatmap h) {
        int[] q = h.subspaceRanks();
        int[] sorted = q.clone();
        java.util.Arrays.sort(sorted);
        long nonzero = java.util.Arrays.stream(q).filter(x -> x > 0).count();
        if (nonzero <= 1) {
            String but = nonzero == 0 ? "" : " but layer " + h.layers()[java.util.stream.IntStream.range(0, q.length)
                    .filter(l -> q[l] > 0).findFirst().orElseThrow()];
            return "phi is undefined: " + h.subject() + " is zero in every layer" + but + zeroHint(h.subject());
        }
        int second = sorted[sorted.length - 2];
        int least = sorted[0];
        long atSecond = java.util.Arrays.stream(q).filter(x -> x >= second).count();
        return "phi is undefined: " + (h.i() == h.j() ? "no two layers' " + h.subject() + " have numerical rank "
                + h.i() + " or more" : "no pair of layers has " + h.subject() + " of numerical ranks at least i = "
                + h.i() + " and j = " + h.j()) + " (their ranks are " + least + " to " + sorted[sorted.length - 1]
                + "); --i " + second + " --j " + second + " is defined " + (atSecond == q.length ? "for every layer"
                : "for " + atSecond + " of " + q.length + " layers (the others left out)" + (least > 0 ? ", --i "
                + least + " --j " + least + " for every layer" : ""));
    }

    /**
     * Why {@code left} (layer indices, from {@link Heatmap#layersLeftOut}) are left out: their subject is zero, or of
     * numerical rank below i or j.
     */
    public static String shortfall(Heatmap h, List<Integer> left) {
        int[] q = left.stream().mapToInt(l -> h.subspaceRanks()[indexOf(h.layers(), l)]).toArray();
        int lo = java.util.Arrays.stream(q).min().orElseThrow();
        int hi = java.util.Arrays.stream(q).max().orElseThrow();
        boolean one = q.length == 1;
        return rankShortfall(one ? "its" : "their", one, h.subject(), lo, hi, h.i(), h.j());
    }

    /**
     * "{@code whose} C_B is zero", or "{@code whose} C_B has numerical rank 3, below i = j = 8": why matrices of
     * numerical ranks {@code lo} to {@code hi} leave phi undefined ({@code one}: one owner, singular verbs); analyze's
     * layers and compare's adapters alike.
     */
    public static String rankShortfall(String whose, boolean one, String subject, int lo, int hi, int i, int j) {
        if (hi == 0) {
            return whose + " " + subject + (one ? " is zero" : " are zero");
        }
        return whose + " " + subject + (one ? " has" : " have") + " numerical rank" + (lo == hi ? " " + lo
                : "s " + lo + " to " + hi) + ", below " + (i == j ? "i = j = " + i : "i = " + i + " or j = " + j);
    }

    private static int indexOf(int[] layers, int layer) {
        return java.util.stream.IntStream.range(0, layers.length).filter(a -> layers[a] == layer).findFirst()
                .orElseThrow();
    }

    /**
     * What a layer's zero factor means: B zero is how PEFT initialises it (an untrained adapter, or one saved before
     * training), and C_B, C_dW and B's control are zero with it.
     */
    public static String zeroHint(String subject) {
        return subject.equals("C_A") || subject.equals("A^T") ? " (lora_A is zero there)"
                : " (lora_B is zero there, as PEFT initialises it: an untrained adapter?)";
    }

    /** Why a map is not in the family. */
    private record Excluded(Status status, String reason) {}

    /**
     * A map of the family with the same module, side, i, j, the same phi in every cell (to 1e-9) and the same null
     * (the one the family tests against): equal cells against another null are another test.
     */
    private static Heatmap sameAs(Heatmap h, List<Heatmap> family,
                                  java.util.function.Function<Heatmap, NullDistribution> nullOf) {
        for (Heatmap f : family) {
            if (f.module().equals(h.module()) && f.side() == h.side() && f.i() == h.i() && f.j() == h.j()
                    && SubspaceSimilarity.sameOffDiagonal(f.phi(), h.phi())
                    && NullDistribution.sameDraws(nullOf.apply(f), nullOf.apply(h))) {
                return f;
            }
        }
        return null;
    }
}
