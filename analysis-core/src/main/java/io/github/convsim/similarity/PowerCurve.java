package io.github.convsim.similarity;

/**
 * What a module's test could detect: the average similarity of planted adapters that share one conversion matrix
 * across all layers, at each relative noise level, over seeded repetitions (see {@link PlantedControl}).
 *
 * @param noise     relative noise levels, increasing: the planted factor is op(W0_l) M plus noise of this size
 *                  relative to op(W0_l) M
 * @param averages  averages[e][k]: the planted map's average similarity at noise[e], repetition k
 * @param appliesTo the subjects whose verdicts this curve speaks for ("C_A", and C_B, C_dW through a square W0,
 *                  where their plants and nulls have the same distribution)
 */
public record PowerCurve(double[] noise, double[][] averages, java.util.Set<String> appliesTo) {
    /** Share of plants a test must detect for its strength to count as detectable. */
    public static final double POWER = 0.8;

    /** What the curve says for one null and level: the strongest noise still detected at {@link #POWER}. */
    public record Detectable(double noise, double averageSimilarity, int repetitions, double threshold) {
        /** Whether even the least noisy plant was not detected often enough. */
        public boolean none() {
            return Double.isNaN(noise);
        }
    }

    /**
     * The largest noise level up to which at least 80 % of the plants are detected (p below {@code threshold}
     * against {@code nullOfMap}), with the plants' mean average similarity there.
     */
    public Detectable detectable(NullDistribution nullOfMap, double threshold) {
        double found = Double.NaN;
        double similarity = Double.NaN;
        for (int e = 0; e < noise.length; e++) {
            int detected = 0;
            double sum = 0;
            for (double a : averages[e]) {
                sum += a;
                if (nullOfMap.pValue(a) < threshold) {
                    detected++;
                }
            }
            if (detected < POWER * averages[e].length) {
                break;
            }
            found = noise[e];
            similarity = sum / averages[e].length;
        }
        return new Detectable(found, similarity, averages.length == 0 ? 0 : averages[0].length, threshold);
    }
}
