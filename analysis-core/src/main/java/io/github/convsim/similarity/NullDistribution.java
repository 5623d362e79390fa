package io.github.convsim.similarity;

import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * What a null model gives for one heatmap over K draws: per cell the mean, standard deviation and a central 95 %
 * interval, one draw as drawn (a null's mean is smoother than any map it stands for), and the distribution of the
 * average similarity (mean over pairs a < b) across draws.
 */
public record NullDistribution(String name, int draws, double[][] mean, double[][] sd, double[][] lo, double[][] hi,
                               double[][] firstDraw, double[] averages) {

    /** Summarises K sampled phi matrices. */
    public static NullDistribution of(String name, double[][][] samples) {
        int k = samples.length;
        int l = samples[0].length;
        double[][] mean = new double[l][l];
        double[][] sd = new double[l][l];
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
                sd[a][b] = s.getN() < 2 ? Double.NaN : s.getStandardDeviation();
                lo[a][b] = s.getN() == 0 ? Double.NaN : s.getPercentile(2.5);
                hi[a][b] = s.getN() == 0 ? Double.NaN : s.getPercentile(97.5);
            }
        }
        double[][] first = new double[l][];
        for (int a = 0; a < l; a++) {
            first[a] = samples[0][a].clone();
        }
        return new NullDistribution(name, k, mean, sd, lo, hi, first, averages);
    }

    /**
     * Whether two nulls are the same null: as many draws, each with the same average (to 1e-9, as {@link
     * SubspaceSimilarity#sameOffDiagonal} compares cells); two absent nulls are the same, one absent is not.
     */
    public static boolean sameDraws(NullDistribution a, NullDistribution b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (a.averages.length != b.averages.length) {
            return false;
        }
        for (int d = 0; d < a.averages.length; d++) {
            boolean bothUndefined = Double.isNaN(a.averages[d]) && Double.isNaN(b.averages[d]);
            if (!bothUndefined && !(Math.abs(a.averages[d] - b.averages[d]) <= 1e-9)) {
                return false;
            }
        }
        return true;
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

    /**
     * Whether the draws agree on the average similarity to rounding (sd at most 1e-9 of the mean): the null gives the
     * same map whatever was drawn, so a map tested against it would be judged on rounding alone.
     */
    public boolean hasNoSpread() {
        return averageSd() <= 1e-9 * Math.abs(averageMean());
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
     * The p-value verdicts use: one-sided, from the null's draws fitted as log-normal. The average similarity is a
     * positive mean of many layer pairs, close to normal but skewed to the right; on the log scale its upper tail,
     * where verdicts are decided, matches the draws (VerdictStatisticsTest: 2,000 draws, 21 to 22 above the fitted 99 %
     * point where 20 are expected; the normal fit gave up to 31). With m and s the mean and sd of the K draws' logs, a
     * new draw's (log x - m) / (s sqrt(1 + 1/K)) follows Student's t with K - 1 degrees of freedom (the prediction
     * interval), so p = P(T >= t), taken as P(T <= -t): 1 - P(T <= t) loses every digit below 1e-16 and made a large
     * effect's p exactly 0. Unlike the Monte Carlo p, it resolves any level at any K: a large effect is never stuck at
     * 1 / (K + 1). Falls back to the linear scale if a draw is not positive.
     */
    public double pValue(double observed) {
        return predictiveP(averages, observed, true);
    }

    /**
     * The p-value of {@link #pValue} for any positive statistic and its null's draws (NaN draws left out): how likely a
     * new draw lies at or beyond {@code observed}, above it when {@code upper}, else below it.
     */
    public static double predictiveP(double[] draws, double observed, boolean upper) {
        DescriptiveStatistics raw = new DescriptiveStatistics();
        for (double v : draws) {
            if (!Double.isNaN(v)) {
                raw.addValue(v);
            }
        }
        long k = raw.getN();
        if (k < 2 || Double.isNaN(observed)) {
            return Double.NaN;
        }
        boolean positive = raw.getMin() > 0 && observed > 0;
        DescriptiveStatistics s = new DescriptiveStatistics();
        for (double v : raw.getValues()) {
            s.addValue(positive ? Math.log(v) : v);
        }
        double sd = s.getStandardDeviation();
        double diff = (positive ? Math.log(observed) : observed) - s.getMean();
        if (!upper) {
            diff = -diff;
        }
        if (!(sd > 0)) {
            return diff > 0 ? 0 : 1;
        }
        double t = diff / (sd * Math.sqrt(1 + 1.0 / k));
        return new org.apache.commons.math3.distribution.TDistribution(null, k - 1).cumulativeProbability(-t);
    }

    /**
     * One-sided Monte Carlo p-value of an observed average under this null: (1 + #{draws >= observed}) / (K + 1). Its
     * smallest value is 1 / (K + 1): reported beside {@link #pValue}, not used for verdicts.
     */
    public double pMonteCarlo(double observed) {
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
