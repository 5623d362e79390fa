package io.github.convsim.similarity;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * compare's power curve takes each plant's statistic as the map's: per pair over its defined layers, then over pairs.
 */
class PlantedPairsCurveTest {
    /** Three adapters of rank 8 at each of 3 layers. */
    private static final int[][] RANKS = {{8, 8, 8}, {8, 8, 8}, {8, 8, 8}};

    /** phi of rank-8 pairs, [e][k][layer] of 3 layers: layer l of plant (e, k) is 0.1 * (l + 1) + e + 10 k. */
    private static java.util.Map<PlantedPairs.Ranks, double[][][]> plants() {
        return java.util.Map.of(new PlantedPairs.Ranks(8, 8), phi());
    }

    private static double[][][] phi() {
        double[][][] phi = new double[PlantedPairs.NOISE.length][PlantedPairs.REPETITIONS][3];
        for (int e = 0; e < phi.length; e++) {
            for (int k = 0; k < phi[e].length; k++) {
                for (int l = 0; l < 3; l++) {
                    phi[e][k][l] = 0.1 * (l + 1) + e + 10 * k;
                }
            }
        }
        return phi;
    }

    /** observed[layer][a][b] of 3 adapters and 3 layers, every cell 0.5 but those named undefined. */
    private static double[][][] observed(int[]... undefined) {
        double[][][] o = new double[3][3][3];
        for (double[][] layer : o) {
            for (double[] row : layer) {
                java.util.Arrays.fill(row, 0.5);
            }
        }
        for (int[] u : undefined) {
            o[u[0]][u[1]][u[2]] = Double.NaN;
            o[u[0]][u[2]][u[1]] = Double.NaN;
        }
        return o;
    }

    @Test
    void everyLayerCountsWhereEveryPairIsDefined() {
        PowerCurve c = PlantedPairs.curve(plants(), RANKS, observed(), Set.of("C_A"));
        assertEquals(Set.of("C_A"), c.appliesTo());
        for (int e = 0; e < c.averages().length; e++) {
            for (int k = 0; k < c.averages()[e].length; k++) {
                assertEquals(0.2 + e + 10 * k, c.averages()[e][k], 1e-12, "the mean of layers 0.1, 0.2, 0.3");
            }
        }
    }

    @Test
    void aLayerUndefinedForOnePairIsLeftOutOfThatPairOnly() {
        // adapter 2's factor is zero at layer 2: pairs (0, 2) and (1, 2) average layers 0 and 1, pair (0, 1) all three
        PowerCurve c = PlantedPairs.curve(plants(), RANKS, observed(new int[] {2, 0, 2}, new int[] {2, 1, 2}),
                Set.of("C_B"));
        for (int e = 0; e < c.averages().length; e++) {
            for (int k = 0; k < c.averages()[e].length; k++) {
                double base = e + 10 * k;
                double expected = ((0.2 + base) + 2 * (0.15 + base)) / 3;
                assertEquals(expected, c.averages()[e][k], 1e-12);
            }
        }
        // a pair undefined at every layer has no statistic, in the map as in its plants
        PowerCurve none = PlantedPairs.curve(plants(), RANKS, observed(new int[] {0, 0, 1}, new int[] {1, 0, 1},
                new int[] {2, 0, 1}), Set.of("C_B"));
        assertEquals(0.2, none.averages()[0][0], 1e-12, "pairs (0, 2) and (1, 2), every layer");
    }
}
