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
        double[] scaled = scaled(draws, observed);
        if (scaled == null) {
            return Double.NaN;
        }
        int k = scaled.length - 1;
        return tDistribution(k).cumulativeProbability(-predictiveT(scaled, k, scaled[k], upper));
    }

    /** Resamplings of the draws behind {@link #predictivePRange}. */
    public static final int RESAMPLES = 2000;

    /**
     * How far the K draws themselves leave the p of {@link #predictiveP}: the central 99 % of its values over {@link
     * #RESAMPLES} resamplings of the draws with replacement (a bootstrap, seeded from the draws and the observed value,
     * so a report gives the same range every time). Another seed's K draws would move p about as far; a verdict whose
     * level lies inside the range is decided by the seed of the null, not by the adapter. {NaN, NaN} where p is NaN.
     */
    public static double[] predictivePRange(double[] draws, double observed, boolean upper) {
        double[] scaled = scaled(draws, observed);
        if (scaled == null) {
            return new double[] {Double.NaN, Double.NaN};
        }
        int k = scaled.length - 1;
        org.apache.commons.math3.random.RandomGenerator rng = new org.apache.commons.math3.random.Well19937c(
                java.util.Arrays.hashCode(draws) * 31L + Double.hashCode(observed));
        double[] resampled = new double[k];
        double[] ts = new double[RESAMPLES];
        for (int b = 0; b < RESAMPLES; b++) {
            for (int d = 0; d < k; d++) {
                resampled[d] = scaled[rng.nextInt(k)];
            }
            ts[b] = predictiveT(resampled, k, scaled[k], upper);
        }
        // p falls as t rises, so p's percentiles are those of t, each through the distribution once; order statistics
        // rather than interpolation between them, which an infinite t (draws without spread) would make NaN
        java.util.Arrays.sort(ts);
        org.apache.commons.math3.distribution.TDistribution t = tDistribution(k);
        return new double[] {t.cumulativeProbability(-ts[(int) Math.ceil(0.995 * (RESAMPLES - 1))]),
            t.cumulativeProbability(-ts[(int) Math.floor(0.005 * (RESAMPLES - 1))])};
    }

    /** As {@link #predictivePRange} for this null's averages, the observed average's. */
    public double[] pValueRange(double observed) {
        return predictivePRange(averages, observed, true);
    }

    /**
     * The draws that are not NaN, on the log scale where every one and the observed value are positive, with the
     * observed value on the same scale last; null where fewer than 2 draws or the observed value is NaN.
     */
    private static double[] scaled(double[] draws, double observed) {
        double[] kept = java.util.Arrays.stream(draws).filter(v -> !Double.isNaN(v)).toArray();
        if (kept.length < 2 || Double.isNaN(observed)) {
            return null;
        }
        boolean positive = observed > 0 && java.util.Arrays.stream(kept).allMatch(v -> v > 0);
        double[] out = new double[kept.length + 1];
        for (int d = 0; d < kept.length; d++) {
            out[d] = positive ? Math.log(kept[d]) : kept[d];
        }
        out[kept.length] = positive ? Math.log(observed) : observed;
        return out;
    }

    private static org.apache.commons.math3.distribution.TDistribution tDistribution(int draws) {
        return new org.apache.commons.math3.distribution.TDistribution(null, draws - 1);
    }

    /**
     * The predictive t of the first {@code k} values of {@code scaled} against {@code at} (infinite where they are all
     * equal, of the sign that gives p 0 above them and 1 at or below them).
     */
    private static double predictiveT(double[] scaled, int k, double at, boolean upper) {
        // Commons Math's Mean and (bias-corrected) Variance, step for step, so that p is bit for bit what
        // DescriptiveStatistics gave, without its allocations in the resampling loop
        double sum = 0;
        for (int d = 0; d < k; d++) {
            sum += scaled[d];
        }
        double xbar = sum / k;
        double correction = 0;
        for (int d = 0; d < k; d++) {
            correction += scaled[d] - xbar;
        }
        double mean = xbar + correction / k;
        double accum = 0;
        double dev2 = 0;
        for (int d = 0; d < k; d++) {
            double dev = scaled[d] - mean;
            accum += dev * dev;
            dev2 += dev;
        }
        double sd = Math.sqrt((accum - dev2 * dev2 / k) / (k - 1.0));
        double diff = upper ? at - mean : mean - at;
        if (!(sd > 0)) {
            return diff > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        }
        return diff / (sd * Math.sqrt(1 + 1.0 / k));
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
