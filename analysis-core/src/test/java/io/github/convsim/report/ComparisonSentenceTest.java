package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.results.ComparisonMap;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.PowerCurve;
import io.github.convsim.similarity.Side;
import java.util.List;
import org.junit.jupiter.api.Test;

/** compare's sentence on a map: whose 'no' its power speaks for. */
class ComparisonSentenceTest {
    private static ComparisonVerdicts.Judgement judged(boolean mapExceeds, boolean[] pairExceeds) {
        double[][][] perLayer = {{{1, 0.6, 0.5}, {0.6, 1, 0.5}, {0.5, 0.5, 1}}};
        ComparisonMap m = new ComparisonMap("value", "C_A", Side.LEFT, 8, 8, new int[] {0},
                new int[][] {{8}, {8}, {8}}, new int[][] {{8}, {8}, {8}}, perLayer, 0.0104, null,
                null, null);
        List<ComparisonVerdicts.Test> pairs = List.of(new ComparisonVerdicts.Test(0, 1, 0.6, 1e-4, 3e-4,
                pairExceeds[0]), new ComparisonVerdicts.Test(0, 2, 0.5, 0.3, 0.6, pairExceeds[1]),
                new ComparisonVerdicts.Test(1, 2, 0.5, 0.3, 0.6, pairExceeds[2]));
        ComparisonVerdicts.Test overall = new ComparisonVerdicts.Test(-1, -1, 0.533, mapExceeds ? 1e-3 : 0.2,
                mapExceeds ? 4e-3 : 0.6, mapExceeds);
        return new ComparisonVerdicts.Judgement(m, "tested", "", overall, pairs, 4, Correction.HOLM,
                new PowerCurve.Detectable(2, 0.5449, 8, 0.05 / 4, 8), null);
    }

    @Test
    void thePowerClauseSaysWhoseNoItSpeaksFor() {
        List<String> names = List.of("a", "b", "c");
        String none = ComparisonReport.sentence(judged(false, new boolean[] {false, false, false}), names);
        assertTrue(none.contains("no pair exceeds the W0 null; it detects a pair of adapters whose factors agree up to"
                + " noise 2 of their size (plants averaging phi 0.5449) in 8 of 8 plants, so this 'no' rules out pairs"
                + " that alike."), none);
        String some = ComparisonReport.sentence(judged(true, new boolean[] {true, false, false}), names);
        assertTrue(some.contains("pairs beyond it: a & b (0.6000, adjusted p 3.0e-04); it detects")
                && some.contains("so the other pairs' 'no' rules out pairs that alike."), some);
        String all = ComparisonReport.sentence(judged(true, new boolean[] {true, true, true}), names);
        assertFalse(all.contains("it detects"), "every test a yes: nothing for power to speak for: " + all);
        assertEquals("its power was not estimated, so this 'no' says no shared conversion matrix was detected, not"
                + " that there is none", ComparisonReport.powerClause(null, "this 'no'", false, "factors"));
        assertEquals("it detects a pair of adapters (of each pair's ranks, the lower-rank adapter taking the other's"
                + " first columns) whose factors agree up to noise 0.75 of their size (plants averaging phi 0.6756) in"
                + " 7 of 8 plants, so this 'no' rules out pairs that alike", ComparisonReport.powerClause(
                        new PowerCurve.Detectable(0.75, 0.6756, 8, 0.05 / 6, 7), "this 'no'", true, "factors"));
        // where even the least noise falls short, the count says by how much
        assertEquals("even a pair of adapters whose factors agree up to noise 0.025 of their size is detected in 3 of"
                + " 8 plants (fewer than 80 %), so this 'no' rules out nothing", ComparisonReport.powerClause(
                        new PowerCurve.Detectable(Double.NaN, Double.NaN, 8, 0.05 / 6, 3), "this 'no'", false,
                        "factors"));
    }

    /**
     * Where the W0 null's pairs of draws do not settle an answer the sentence says so, with the map's p range, or with
     * how many pairs' answers they leave open.
     */
    @Test
    void anAnswerTheDrawsDoNotSettleIsSaidToBeUndecided() {
        double[][] cells = {{1, 0.5}, {0.5, 1}};
        io.github.convsim.similarity.NullDistribution pairs8 = new io.github.convsim.similarity.NullDistribution(
                "w0", 8, cells, cells, cells, cells, cells, new double[] {0.5, 0.51, 0.49, 0.5, 0.52, 0.48, 0.5, 0.5});
        ComparisonMap m = new ComparisonMap("value", "C_A", Side.LEFT, 8, 8, new int[] {0},
                new int[][] {{8}, {8}, {8}}, new int[][] {{8}, {8}, {8}},
                new double[][][] {{{1, 0.6, 0.5}, {0.6, 1, 0.5}, {0.5, 0.5, 1}}}, 0.0104, pairs8, null, null);
        List<String> names = List.of("a", "b", "c");
        List<ComparisonVerdicts.Test> pairs = List.of(
                new ComparisonVerdicts.Test(0, 1, 0.6, 0.01, 0.03, true, 0.002, 0.09, false),
                new ComparisonVerdicts.Test(0, 2, 0.5, 0.3, 0.6, false, 0.2, 0.5, true),
                new ComparisonVerdicts.Test(1, 2, 0.5, 0.3, 0.6, false, 0.2, 0.5, true));
        ComparisonVerdicts.Test open = new ComparisonVerdicts.Test(-1, -1, 0.533, 0.02, 0.04, true, 0.004, 0.11,
                false);
        String both = ComparisonReport.sentence(new ComparisonVerdicts.Judgement(m, "tested", "", open, pairs, 4,
                Correction.HOLM, null, null), names);
        assertTrue(both.endsWith(" Not decided by the W0 null's 8 pairs of draws: over resamplings of them the map's p"
                + " lies between 0.004 and 0.110, and its answer differs between the two ends; so do 1 pair's; rerun"
                + " with more --draws before relying on it."), both);
        ComparisonVerdicts.Test settled = new ComparisonVerdicts.Test(-1, -1, 0.533, 1e-4, 4e-4, true, 1e-6, 1e-3,
                true);
        String pairOnly = ComparisonReport.sentence(new ComparisonVerdicts.Judgement(m, "tested", "", settled, pairs,
                4, Correction.HOLM, null, null), names);
        assertTrue(pairOnly.endsWith(" Not decided by the W0 null's 8 pairs of draws: over resamplings of them, 1"
                + " pair's answer differs between the two ends of its p's range; rerun with more --draws before"
                + " relying on that pair's answer."), pairOnly);
        String decided = ComparisonReport.sentence(judged(true, new boolean[] {true, false, false}), names);
        assertFalse(decided.contains("Not decided"), decided);
    }

    /** Many adapters make many pairs: the sentence counts them and names the strongest five, not all 153. */
    @Test
    void manyPairsBeyondTheNullAreCountedAndTheStrongestNamed() {
        List<String> names = java.util.stream.IntStream.range(0, 8).mapToObj(k -> "a" + k).toList();
        // pairs (0, 1) .. (0, 7) exceed, their adjusted p rising with the second adapter except a tie at (0, 2), (0, 3)
        double[] p = {0, 1e-5, 2e-4, 2e-4, 3e-4, 4e-4, 5e-4, 1e-3};
        List<ComparisonVerdicts.Test> beyond = new java.util.ArrayList<>();
        for (int b = 7; b >= 1; b--) {
            beyond.add(new ComparisonVerdicts.Test(0, b, 0.5 + b / 100.0, p[b] / 10, p[b], true));
        }
        String s = ComparisonReport.pairsBeyond(beyond, 28, names);
        assertEquals("; 7 of 28 pairs exceed it (summary.json and compare.csv give every pair), the strongest"
                + " a0 & a1 (0.5100, adjusted p 1.0e-05), a0 & a3 (0.5300, adjusted p 2.0e-04), a0 & a2 (0.5200, adjusted"
                + " p 2.0e-04), a0 & a4 (0.5400, adjusted p 3.0e-04), a0 & a5 (0.5500, adjusted p 4.0e-04)", s);
        assertTrue(ComparisonReport.pairsBeyond(beyond, 7, names).startsWith("; all 7 pairs exceed it"));
        assertEquals("; pairs beyond it: a0 & a7 (0.5700, adjusted p 0.001), a0 & a6 (0.5600, adjusted p 5.0e-04)",
                ComparisonReport.pairsBeyond(beyond.subList(0, 2), 28, names), "a few are all named, in order");
    }
    /**
     * Pairs undefined for a factor of low numerical rank (not zero): the layers left out name whose rank falls short
     * and by how much, and a map with no defined pair names the largest i = j at which some pair is.
     */
    @Test
    void undefinedPairsNameTheAdaptersNumericalRanks() {
        double n = Double.NaN;
        // layer 1: b's C_A has rank 3 there, so its pairs are undefined at that layer only
        double[][][] perLayer = {{{1, 0.6, 0.5}, {0.6, 1, 0.5}, {0.5, 0.5, 1}}, {{1, n, 0.5}, {n, n, n}, {0.5, n, 1}}};
        ComparisonMap m = twoLayers("C_A", new int[][] {{8, 8}, {8, 3}, {8, 8}}, perLayer);
        assertEquals(List.of(1), m.layersLeftOut());
        assertEquals("b's C_A has numerical rank 3, below i = j = 8", ComparisonReport.leftOutBecause(m, List.of(1),
                List.of("a", "b", "c")));
        double[][][] none = {{{n, n, n}, {n, n, n}, {n, n, n}}, {{n, n, n}, {n, n, n}, {n, n, n}}};
        ComparisonMap undefined = twoLayers("C_A", new int[][] {{3, 2}, {3, 5}, {2, 5}}, none);
        // layer 0 holds two adapters of rank 3, layer 1 two of rank 5
        assertEquals("phi is undefined: no two adapters' C_A have numerical rank 8 or more at one layer (their ranks"
                + " are 2 to 5); --i 5 --j 5 is defined for some pairs", ComparisonVerdicts.undefinedReason(undefined,
                List.of("a", "b", "c")));
        ComparisonMap zero = twoLayers("C_B", new int[][] {{0, 0}, {8, 8}, {0, 0}}, none);
        assertEquals("phi is undefined: a's and c's C_B are zero in every layer (lora_B is zero there, as PEFT"
                + " initialises it: an untrained adapter?)", ComparisonVerdicts.undefinedReason(zero,
                List.of("a", "b", "c")));
    }

    /** A map of three rank-8 adapters at layers 0 and 1, read at i = j = 8, with the matrices' numerical ranks. */
    private static ComparisonMap twoLayers(String subject, int[][] subspaceRanks, double[][][] perLayer) {
        return new ComparisonMap("value", subject, Side.LEFT, 8, 8, new int[] {0, 1},
                new int[][] {{8, 8}, {8, 8}, {8, 8}}, subspaceRanks, perLayer, 0.0104, null, null, null);
    }
}
