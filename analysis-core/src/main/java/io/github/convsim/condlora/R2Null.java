package io.github.convsim.condlora;

import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * What a shared linear layer reaches on targets that carry no shared structure, over K seeded draws: overall R^2 of
 * A and B, and the relative error of dW.
 */
public record R2Null(String name, double[] r2A, double[] r2B, double[] dwError) {

    public static double mean(double[] v) {
        return stats(v).getMean();
    }

    public static double lo(double[] v) {
        return stats(v).getPercentile(2.5);
    }

    public static double hi(double[] v) {
        return stats(v).getPercentile(97.5);
    }

    private static DescriptiveStatistics stats(double[] v) {
        DescriptiveStatistics s = new DescriptiveStatistics();
        for (double x : v) {
            s.addValue(x);
        }
        return s;
    }
}
