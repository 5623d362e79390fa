package io.github.convsim.similarity;

/**
 * What a test could detect: the statistic of planted adapters that share what the test looks for, at each relative
 * noise level, over seeded repetitions: one conversion matrix across layers ({@link PlantedControl}), a pair's
 * conversion matrices ({@link PlantedPairs}), one CondLoRA layer ({@link io.github.convsim.condlora.SharedLayerPlants}).
 *
 * @param noise     relative noise levels, increasing: the noise's size relative to the shared part
 * @param averages  averages[e][k]: the statistic of plant k at noise[e] (a map's average similarity for analyze and
 *                  compare)
 * @param appliesTo the subjects whose verdicts this curve speaks for ("C_A", and C_B, C_dW through a square W0,
 *                  where their plants and nulls have the same distribution)
 */
public record PowerCurve(double[] noise, double[][] averages, java.util.Set<String> appliesTo) {
    /** Share of plants a test must detect for its strength to count as detectable. */
    public static final double POWER = 0.8;

    /**
     * What the curve says for one test: the strongest noise still detected at {@link #POWER}, and the plants' mean
     * statistic there (phi for analyze's and compare's plants; R^2 or dW's relative error for CondLoRA's), with how
     * many of the {@code repetitions} plants were detected there ({@code detected}; at the least noise where none is).
     */
    public record Detectable(double noise, double plantMean, int repetitions, double threshold, int detected) {
        /** Whether even the least noisy plant was not detected often enough. */
        public boolean none() {
            return Double.isNaN(noise);
        }

        /**
         * A one-sided 95 % lower bound on the detection rate at {@link #noise} from {@code detected} of {@code
         * repetitions} plants (Clopper-Pearson: the 5 % quantile of Beta(k, n - k + 1)): 8 plants say little, 7 of 8
         * bound it below by 0.53 and 8 of 8 by 0.69. NaN where there are no plants.
         */
        public double detectionRateLowerBound() {
            if (repetitions < 1) {
                return Double.NaN;
            }
            if (detected == 0) {
                return 0;
            }
            // Commons Math's ClopperPearsonInterval fails at k = n (its upper bound's F has 0 degrees of freedom)
            return new org.apache.commons.math3.distribution.BetaDistribution(null, detected,
                    repetitions - detected + 1).inverseCumulativeProbability(0.05);
        }
    }

    /**
     * The largest noise level up to which at least 80 % of the plants are detected (p below {@code threshold}
     * against {@code nullOfMap}), with the plants' mean average similarity there.
     */
    public Detectable detectable(NullDistribution nullOfMap, double threshold) {
        return detectable(a -> nullOfMap.pValue(a) < threshold, threshold);
    }

    /**
     * The largest noise level up to which at least 80 % of the plants pass {@code detected} (a test at
     * {@code threshold}), with the plants' mean statistic there; the levels are taken in order and the first that
     * fails ends the search.
     */
    public Detectable detectable(java.util.function.DoublePredicate detected, double threshold) {
        double found = Double.NaN;
        double mean = Double.NaN;
        int detectedThere = 0;
        for (int e = 0; e < noise.length; e++) {
            int passed = 0;
            double sum = 0;
            for (double a : averages[e]) {
                sum += a;
                if (detected.test(a)) {
                    passed++;
                }
            }
            if (e == 0 || passed >= POWER * averages[e].length) {
                detectedThere = passed;
            }
            if (passed < POWER * averages[e].length) {
                break;
            }
            found = noise[e];
            mean = sum / averages[e].length;
        }
        return new Detectable(found, mean, averages.length == 0 ? 0 : averages[0].length, threshold, detectedThere);
    }
}
