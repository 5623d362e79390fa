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
}
