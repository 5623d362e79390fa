package io.github.convsim.report;

import io.github.convsim.results.ComparisonMap;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.MultipleTesting;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.PowerCurve;
import io.github.convsim.similarity.SubspaceSimilarity;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Verdicts of a comparison: whether adapters share more than two unrelated adapters share through the same W0.
 *
 * <p>Each pair of adapters is tested on its mean phi over layers against the W0 null for pairs (pairs of independent
 * W0-null draws, the same statistic; p from the null fitted as log-normal, see
 * {@link io.github.convsim.similarity.NullDistribution#pValue}); each map's mean over all pairs is tested against the
 * same single-pair null, which is conservative (a mean over pairs varies less than one pair). The family is every pair
 * and map test of the comparison's conversion maps that are neither degenerate nor duplicates; p is adjusted over it.
 * Two adapters make one pair, whose test is the map's: it is counted once (counted twice, it doubled Holm's factor).
 */
public final class ComparisonVerdicts {
    /**
     * One test: a pair (a, b) of adapters, or the whole map (a = b = -1); with the central 99 % of p over resamplings
     * of the null's draws ({@link NullDistribution#predictivePRange}) and whether the answer is the same at both ends,
     * every test of the family taken at its low end, then at its high end ({@code decided}).
     */
    public record Test(int a, int b, double statistic, double p, double pAdjusted, boolean exceeds, double pLow,
                       double pHigh, boolean decided) {
        /** A test whose range was not taken. */
        public Test(int a, int b, double statistic, double p, double pAdjusted, boolean exceeds) {
            this(a, b, statistic, p, pAdjusted, exceeds, Double.NaN, Double.NaN, true);
        }
    }

    /**
     * A map's verdicts, or why it has none (status "tested", "control", "undefined", "degenerate", "duplicate", "no
     * null"), and what its tests could detect: planted pairs that share their conversion matrices, detected at p below
     * alpha over the family size (null where not tested or not estimated). A duplicate, counted once, carries the tests and
     * verdict of the map it duplicates ({@code duplicateOf}; null for any other map), as analyze's do.
     */
    public record Judgement(ComparisonMap map, String status, String reason, Test overall, List<Test> pairs,
                            int familySize, Correction correction, PowerCurve.Detectable power,
                            ComparisonMap duplicateOf) {
        public String answer() {
            return overall == null ? "n/a" : overall.exceeds() ? "yes" : "no";
        }
    }

    private ComparisonVerdicts() {}

    public static List<Judgement> judge(ComparisonResult r, Correction correction) {
        List<ComparisonMap> tested = new ArrayList<>();
        Map<ComparisonMap, String[]> why = new IdentityHashMap<>();
        Map<ComparisonMap, ComparisonMap> twins = new IdentityHashMap<>();
        for (ComparisonMap m : r.maps()) {
            if (m.isControl()) {
                // PEFT initialises B at zero, so only A's control can owe its similarity to a shared start
                why.put(m, new String[] {"control", "a raw-factor control: how similar the adapters' factors are"
                        + " themselves" + (m.subject().startsWith("A") ? " (checkpoints of one run share lora_A's"
                        + " initialisation)" : "")});
            } else if (Double.isNaN(ComparisonReport.offDiagonalMean(m.mean()))) {
                why.put(m, new String[] {"undefined", undefinedReason(m, r.adapters())});
            } else if (m.analytic() >= 1 - 1e-12) {
                why.put(m, new String[] {"degenerate", "phi is 1 by construction: i or j spans the whole space"});
            } else if (m.w0Null() != null && m.w0Null().hasNoSpread()) {
                why.put(m, new String[] {"degenerate", MapVerdict.w0AloneReason(m.subject(), m.w0Null().draws(),
                        m.i())});
            } else if (m.w0Null() == null) {
                why.put(m, new String[] {"no null", "the W0 null was not computed (--draws 0)"});
            } else {
                ComparisonMap same = tested.stream().filter(t -> sameMap(t, m)).findFirst().orElse(null);
                if (same != null) {
                    why.put(m, new String[] {"duplicate", MapVerdict.duplicateReason(m.subject(), same.subject(),
                            same.side())});
                    twins.put(m, same);
                } else {
                    tested.add(m);
                }
            }
        }
        List<double[]> stats = new ArrayList<>(); // {map index, a, b, statistic, p, p's range low, high}
        for (int k = 0; k < tested.size(); k++) {
            ComparisonMap m = tested.get(k);
            double[][] mean = m.mean();
            double overall = ComparisonReport.offDiagonalMean(mean);
            stats.add(test(k, -1, -1, overall, m.w0Null()));
            if (onlyPair(mean) != null) {
                continue; // the one pair's test is the map's (two adapters, or others whose phi is undefined)
            }
            for (int a = 0; a < mean.length; a++) {
                for (int b = a + 1; b < mean.length; b++) {
                    stats.add(test(k, a, b, mean[a][b], m.pairNull(a, b)));
                }
            }
        }
        double[] adjusted = MultipleTesting.adjust(stats.stream().mapToDouble(s -> s[4]).toArray(), correction);
        boolean[] decided = MultipleTesting.decided(stats.stream().mapToDouble(s -> s[5]).toArray(),
                stats.stream().mapToDouble(s -> s[6]).toArray(), correction, MapVerdict.ALPHA);
        int family = (int) java.util.Arrays.stream(adjusted).filter(v -> !Double.isNaN(v)).count();
        List<Judgement> out = new ArrayList<>();
        Map<ComparisonMap, Judgement> judged = new IdentityHashMap<>();
        for (ComparisonMap m : r.maps()) {
            int k = tested.indexOf(m);
            if (k < 0) {
                String[] w = why.get(m);
                ComparisonMap twin = twins.get(m);
                Judgement t = twin == null ? null : judged.get(twin); // the twin comes first: it was tested
                out.add(t == null ? new Judgement(m, w[0], w[1], null, List.of(), family, correction, null, null)
                        : new Judgement(m, w[0], w[1], t.overall(), t.pairs(), family, correction, t.power(), twin));
                continue;
            }
            Test overall = null;
            List<Test> pairs = new ArrayList<>();
            for (int t = 0; t < stats.size(); t++) {
                double[] s = stats.get(t);
                if ((int) s[0] != k) {
                    continue;
                }
                Test test = new Test((int) s[1], (int) s[2], s[3], s[4], adjusted[t], adjusted[t] < MapVerdict.ALPHA,
                        s[5], s[6], decided[t]);
                if (s[1] < 0) {
                    overall = test;
                } else {
                    pairs.add(test);
                }
            }
            int[] only = onlyPair(m.mean());
            if (only != null) {
                for (int a = 0; a < m.mean().length; a++) {
                    for (int b = a + 1; b < m.mean().length; b++) {
                        pairs.add(a == only[0] && b == only[1]
                                ? new Test(a, b, m.mean()[a][b], overall.p(), overall.pAdjusted(), overall.exceeds(),
                                        overall.pLow(), overall.pHigh(), overall.decided())
                                : new Test(a, b, Double.NaN, Double.NaN, Double.NaN, false));
                    }
                }
            }
            PowerCurve.Detectable power = m.power() == null ? null
                    : m.power().detectable(m.w0Null(),
                            MultipleTesting.detectionLevel(correction, MapVerdict.ALPHA, family));
            Judgement j = new Judgement(m, "tested", "", overall, pairs, family, correction, power, null);
            judged.put(m, j);
            out.add(j);
        }
        return out;
    }

    /** A test's row: map index, pair, statistic, p and p's range over resamplings of the null's draws. */
    private static double[] test(int map, int a, int b, double statistic, NullDistribution nul) {
        double[] range = nul.pValueRange(statistic);
        return new double[] {map, a, b, statistic, nul.pValue(statistic), range[0], range[1]};
    }

    /**
     * The one pair (a, b) whose mean phi is defined, where there is one: its test is the map's (the map's mean and null
     * are that pair's). Null where more pairs or none are defined.
     */
    private static int[] onlyPair(double[][] mean) {
        int[] only = null;
        for (int a = 0; a < mean.length; a++) {
            for (int b = a + 1; b < mean.length; b++) {
                if (!Double.isNaN(mean[a][b])) {
                    if (only != null) {
                        return null;
                    }
                    only = new int[] {a, b};
                }
            }
        }
        return only;
    }

    /**
     * Why no pair of adapters has phi at any layer: adapters whose matrix is zero in every layer, or else the adapters'
     * numerical ranks, with the largest i = j at which some pair is defined (at a layer, the second largest rank).
     */
    static String undefinedReason(ComparisonMap m, List<String> adapters) {
        List<Integer> zero = m.zeroAdapters();
        if (zero.size() >= adapters.size() - 1) {
            return "phi is undefined: " + ComparisonReport.zeroEverywhere(m, zero, adapters);
        }
        int defined = 0;
        for (int l = 0; l < m.layers().length; l++) {
            int at = l;
            int[] q = java.util.Arrays.stream(m.subspaceRanks()).mapToInt(a -> a[at]).sorted().toArray();
            defined = Math.max(defined, q[q.length - 2]);
        }
        java.util.IntSummaryStatistics all = java.util.Arrays.stream(m.subspaceRanks())
                .flatMapToInt(java.util.Arrays::stream).summaryStatistics();
        return "phi is undefined: no two adapters' " + m.subject() + " have numerical rank "
                + (m.i() == m.j() ? m.i() + " or more" : "at least i = " + m.i() + " and j = " + m.j())
                + " at one layer (their ranks are " + all.getMin() + " to " + all.getMax() + ")"
                + (defined == 0 ? ", nor are two nonzero at one layer" : "; --i " + defined + " --j " + defined
                + " is defined for some pairs");
    }

    /**
     * Whether two maps are the same map: equal phi for every pair at every layer, undefined cells alike (equal means
     * over layers are not enough: a layer left out of one changes its null), and the same nulls.
     */
    private static boolean sameMap(ComparisonMap a, ComparisonMap b) {
        if (!a.module().equals(b.module()) || a.side() != b.side() || a.i() != b.i() || a.j() != b.j()
                || a.perLayer().length != b.perLayer().length) {
            return false;
        }
        for (int l = 0; l < a.perLayer().length; l++) {
            if (!SubspaceSimilarity.sameOffDiagonal(a.perLayer()[l], b.perLayer()[l])) {
                return false;
            }
        }
        // equal cells with another null are another test (identical adapters give phi = 1 in every map)
        if (!NullDistribution.sameDraws(a.w0Null(), b.w0Null())
                || (a.pairNulls() == null) != (b.pairNulls() == null)) {
            return false;
        }
        for (int p = 0; a.pairNulls() != null && p < a.pairNulls().size(); p++) {
            if (!NullDistribution.sameDraws(a.pairNulls().get(p), b.pairNulls().get(p))) {
                return false;
            }
        }
        return true;
    }
}
