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
}
