package io.github.convsim.similarity;

import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * What a null model gives for one heatmap over K draws: per cell the mean and a central 95 % interval, and the
 * distribution of the average similarity (mean over pairs a < b) across draws.
 */
public record NullDistribution(String name, int draws, double[][] mean, double[][] lo, double[][] hi,
                               double[] averages) {

    /** Summarises K sampled phi matrices. */
    public static NullDistribution of(String name, double[][][] samples) {
        int k = samples.length;
        int l = samples[0].length;
        double[][] mean = new double[l][l];
        double[][] lo = new double[l][l];
        double[][] hi = new double[l][l];
        double[] averages = new double[k];
        for (int d = 0; d < k; d++) {
            averages[d] = SubspaceSimilarity.averageOffDiagonal(samples[d]);
        }
        for (int a = 0; a < l; a++) {
            for (int b = 0; b < l; b++) {
                DescriptiveStatistics s = new DescriptiveStatistics();
                for (double[][] sample : samples) {
                    if (!Double.isNaN(sample[a][b])) {
                        s.addValue(sample[a][b]);
                    }
                }
                mean[a][b] = s.getN() == 0 ? Double.NaN : s.getMean();
                lo[a][b] = s.getN() == 0 ? Double.NaN : s.getPercentile(2.5);
                hi[a][b] = s.getN() == 0 ? Double.NaN : s.getPercentile(97.5);
            }
        }
        return new NullDistribution(name, k, mean, lo, hi, averages);
    }

    private DescriptiveStatistics averageStats() {
        DescriptiveStatistics s = new DescriptiveStatistics();
        for (double v : averages) {
            if (!Double.isNaN(v)) {
                s.addValue(v);
            }
        }
        return s;
    }

    public double averageMean() {
        DescriptiveStatistics s = averageStats();
        return s.getN() == 0 ? Double.NaN : s.getMean();
    }

    public double averageSd() {
        DescriptiveStatistics s = averageStats();
        return s.getN() < 2 ? Double.NaN : s.getStandardDeviation();
    }

    /** 2.5th percentile of the average similarity across draws. */
    public double averageLo() {
        DescriptiveStatistics s = averageStats();
        return s.getN() == 0 ? Double.NaN : s.getPercentile(2.5);
    }

    /** 97.5th percentile of the average similarity across draws. */
    public double averageHi() {
        DescriptiveStatistics s = averageStats();
        return s.getN() == 0 ? Double.NaN : s.getPercentile(97.5);
    }

    /**
     * One-sided Monte Carlo p-value of an observed average under this null: (1 + #{draws >= observed}) / (K + 1).
     */
    public double pValue(double observed) {
        int ge = 0;
        int n = 0;
        for (double v : averages) {
            if (!Double.isNaN(v)) {
                n++;
                if (v >= observed) {
                    ge++;
                }
            }
        }
        return n == 0 || Double.isNaN(observed) ? Double.NaN : (1.0 + ge) / (n + 1.0);
    }

    /** (observed - null mean) / null sd of the average similarity. */
    public double effectSize(double observed) {
        double sd = averageSd();
        return sd > 0 ? (observed - averageMean()) / sd : Double.NaN;
    }
}
