package io.github.convsim.similarity;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;

/** Adjusted p-values for a family of tests, so that a verdict holds for the whole family, not each map alone. */
public final class MultipleTesting {
    /** How p-values are adjusted for the family. */
    public enum Correction {
        /** Holm's step-down: controls the family-wise error rate (the chance of any false "yes"). */
        HOLM,
        /** Benjamini-Hochberg: controls the false discovery rate (the expected share of false "yes" among the yeses). */
        BH,
        /** No adjustment: each map judged alone. */
        NONE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Correction parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "holm" -> HOLM;
                case "bh", "fdr", "benjamini-hochberg" -> BH;
                case "none" -> NONE;
                default -> throw new IllegalArgumentException("unknown correction '" + s + "' (expected holm, bh or none)");
            };
        }
    }

    private MultipleTesting() {}

    /**
     * The level at which a power calculation tests each planted map so that it would be found in a family of
     * {@code familySize} tests: alpha / familySize, a bound on Holm's first step and on Benjamini-Hochberg's for a
     * single discovery; alpha itself without correction.
     */
    public static double detectionLevel(Correction c, double alpha, int familySize) {
        return c == Correction.NONE ? alpha : alpha / Math.max(1, familySize);
    }

    /**
     * Whether each test's answer is the same at both ends of its p's range ({@link NullDistribution#predictivePRange}):
     * the family adjusted with every test at its low end, then at its high end. Both corrections are monotone in each
     * p, so the answer at p lies between. A test without a range (NaN) counts as decided.
     */
    public static boolean[] decided(double[] lowEnds, double[] highEnds, Correction c, double alpha) {
        double[] low = adjust(lowEnds, c);
        double[] high = adjust(highEnds, c);
        boolean[] out = new boolean[low.length];
        for (int k = 0; k < out.length; k++) {
            out[k] = Double.isNaN(lowEnds[k]) || (low[k] < alpha) == (high[k] < alpha);
        }
        return out;
    }

    /** The adjusted p-values, in the order given (NaN entries are left out of the family and stay NaN). */
    public static double[] adjust(double[] p, Correction c) {
        Integer[] order = java.util.stream.IntStream.range(0, p.length).filter(k -> !Double.isNaN(p[k])).boxed()
                .sorted(Comparator.comparingDouble(k -> p[k])).toArray(Integer[]::new);
        int m = order.length;
        double[] out = new double[p.length];
        Arrays.fill(out, Double.NaN);
        switch (c) {
            case NONE -> {
                for (Integer k : order) {
                    out[k] = p[k];
                }
            }
            case HOLM -> {
                // p_(i) * (m - i + 1), made monotone from the smallest up
                double running = 0;
                for (int i = 0; i < m; i++) {
                    running = Math.max(running, Math.min(1, (m - i) * p[order[i]]));
                    out[order[i]] = running;
                }
            }
            case BH -> {
                // p_(i) * m / i, made monotone from the largest down
                double running = 1;
                for (int i = m - 1; i >= 0; i--) {
                    running = Math.min(running, Math.min(1, p[order[i]] * m / (i + 1)));
                    out[order[i]] = running;
                }
            }
        }
        return out;
    }
}
