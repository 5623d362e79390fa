package io.github.convsim.similarity;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** A null's per-cell summary from its draws: mean, sample sd, 95 % interval, the first draw kept as drawn. */
class NullDistributionTest {
    @Test
    void eachCellIsSummarisedFromItsDraws() {
        double nan = Double.NaN;
        double[][][] draws = {
            {{nan, 0.1}, {0.1, nan}},
            {{nan, 0.2}, {0.2, nan}},
            {{nan, 0.3}, {0.3, nan}}};
        NullDistribution n = NullDistribution.of("w0", draws);
        assertEquals(3, n.draws());
        assertEquals(0.2, n.mean()[0][1], 1e-15);
        // sample standard deviation of 0.1, 0.2, 0.3: sqrt(((-0.1)^2 + 0 + 0.1^2) / 2) = 0.1
        assertEquals(0.1, n.sd()[0][1], 1e-15);
        assertTrue(Double.isNaN(n.sd()[0][0]), "no draw defines the diagonal");
        assertEquals(0.1, n.firstDraw()[1][0], 0);
        draws[0][1][0] = 99; // the first draw is a copy, not a view
        assertEquals(0.1, n.firstDraw()[1][0], 0);
        assertArrayEquals(new double[] {0.1, 0.2, 0.3}, n.averages(), 1e-15);
    }

    /**
     * The p-value keeps its digits far in the upper tail. With K = 3 draws the predictive t has two degrees of freedom,
     * whose upper tail is 1 / (sqrt(t^2 + 2) (sqrt(t^2 + 2) + t)) exactly. Draws 1e-6 apart on the log scale put the
     * observations at t = 3e6 to 2e7, p = 4e-14 to 1e-15, where 1 - P(T <= t) kept at most two digits or gave 0.
     */
    @Test
    void pValueKeepsItsDigitsFarInTheUpperTail() {
        double[] averages = {0.01 * Math.exp(-1e-6), 0.01, 0.01 * Math.exp(1e-6)};
        double[][][] draws = new double[3][][];
        for (int d = 0; d < 3; d++) {
            draws[d] = new double[][] {{Double.NaN, averages[d]}, {averages[d], Double.NaN}};
        }
        NullDistribution n = NullDistribution.of("w0", draws);
        double m = 0;
        for (double a : averages) {
            m += Math.log(a) / 3;
        }
        double ss = 0;
        for (double a : averages) {
            ss += (Math.log(a) - m) * (Math.log(a) - m);
        }
        double s = Math.sqrt(ss / 2);
        for (double observed : new double[] {0.5, 7.0, 1e10}) {
            double t = (Math.log(observed) - m) / (s * Math.sqrt(1 + 1.0 / 3));
            double root = Math.sqrt(t * t + 2);
            double expected = 1 / (root * (root + t));
            assertTrue(expected < 1e-13, "t " + t);
            assertEquals(expected, n.pValue(observed), 1e-8 * expected, "observed " + observed + ", t " + t);
        }
        // below the draws, p = 1 - P(T >= |t|)
        double t = (Math.log(0.005) - m) / (s * Math.sqrt(1 + 1.0 / 3));
        double root = Math.sqrt(t * t + 2);
        assertEquals(1 - 1 / (root * (root - t)), n.pValue(0.005), 1e-15);
    }

    /** The p of a predictive t-test on the logs, as DescriptiveStatistics and TDistribution give it. */
    private static double referenceP(double[] draws, double observed) {
        org.apache.commons.math3.stat.descriptive.DescriptiveStatistics s =
                new org.apache.commons.math3.stat.descriptive.DescriptiveStatistics();
        for (double v : draws) {
            s.addValue(Math.log(v));
        }
        double t = (Math.log(observed) - s.getMean()) / (s.getStandardDeviation() * Math.sqrt(1 + 1.0 / draws.length));
        return new org.apache.commons.math3.distribution.TDistribution(null, draws.length - 1)
                .cumulativeProbability(-t);
    }

    private static double[] logNormal(java.util.Random rng, int k) {
        double[] d = new double[k];
        for (int i = 0; i < k; i++) {
            d[i] = 0.02 * Math.exp(0.05 * rng.nextGaussian());
        }
        return d;
    }

    /** The p every verdict rests on is, bit for bit, what the predictive t-test of Commons Math's statistics gives. */
    @Test
    void pValueIsTheReferenceTestBitForBit() {
        java.util.Random rng = new java.util.Random(11);
        for (int trial = 0; trial < 200; trial++) {
            double[] draws = logNormal(rng, 2 + rng.nextInt(63));
            double observed = 0.02 * Math.exp(0.05 * 4 * (rng.nextDouble() - 0.5));
            assertEquals(referenceP(draws, observed), NullDistribution.predictiveP(draws, observed, true), 0,
                    "trial " + trial);
        }
    }

    /**
     * The range of p over resamplings of the draws: it holds p, is the same on every call, and narrows as draws are
     * added (the same observed value against 8 and against 256 draws of one log-normal null).
     */
    @Test
    void pRangeHoldsPAndNarrowsWithMoreDraws() {
        java.util.Random rng = new java.util.Random(5);
        double[] few = logNormal(rng, 8);
        double[] many = logNormal(rng, 256);
        double observed = 0.02 * Math.exp(0.05 * 1.8);
        double[] r8 = NullDistribution.predictivePRange(few, observed, true);
        double[] r256 = NullDistribution.predictivePRange(many, observed, true);
        for (double[][] c : new double[][][] {{few, r8}, {many, r256}}) {
            double p = NullDistribution.predictiveP(c[0], observed, true);
            assertTrue(c[1][0] < p && p < c[1][1], p + " in " + java.util.Arrays.toString(c[1]));
        }
        assertArrayEquals(r8, NullDistribution.predictivePRange(few, observed, true), 0, "seeded from the draws");
        assertTrue(r256[1] - r256[0] < (r8[1] - r8[0]) / 2, java.util.Arrays.toString(r8) + " against "
                + java.util.Arrays.toString(r256));
        double[] none = NullDistribution.predictivePRange(new double[] {0.02}, observed, true);
        assertTrue(Double.isNaN(none[0]) && Double.isNaN(none[1]), "one draw has no p, and no range");
    }
}
