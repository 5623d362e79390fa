package io.github.convsim.linalg;

import java.util.SplittableRandom;

/**
 * Matrix-vector arithmetic in plain Java, independent of every native library: the reference against which the
 * {@link SelfCheck} and the {@link SolveGuard} judge what a backend computed. O(mn) per vector, never O(n^3).
 */
public final class ReferenceArithmetic {
    private ReferenceArithmetic() {}

    /** A x, or A^T x when {@code transpose}. */
    public static double[] apply(Matrix a, boolean transpose, double[] x) {
        int m = a.rows();
        int n = a.cols();
        double[] d = a.data();
        if (x.length != (transpose ? m : n)) {
            throw new IllegalArgumentException("cannot apply " + a.shapeString() + (transpose ? "^T" : "") + " to "
                    + x.length + " values");
        }
        if (transpose) {
            double[] y = new double[n];
            for (int j = 0; j < n; j++) {
                double s = 0;
                int col = j * m;
                for (int i = 0; i < m; i++) {
                    s += d[col + i] * x[i];
                }
                y[j] = s;
            }
            return y;
        }
        double[] y = new double[m];
        for (int j = 0; j < n; j++) {
            double xj = x[j];
            int col = j * m;
            for (int i = 0; i < m; i++) {
                y[i] += d[col + i] * xj;
            }
        }
        return y;
    }

    /**
     * A seeded random vector for checking a product by multiplying it (Freivalds' technique): entries of random sign
     * and magnitude in [0.5, 1], so that an error in any column of the product weighs at least half as much as the
     * largest would (a uniform [-1, 1] entry can come out near zero and hide its column).
     */
    public static double[] probe(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            double m = rnd.nextDouble(0.5, 1);
            x[i] = rnd.nextBoolean() ? m : -m;
        }
        return x;
    }

    /**
     * An error as a multiple of its unit, for comparing with a bound: 0 for an exact result, and infinity where a NaN
     * (from a NaN anywhere in the result) would otherwise slip past every bound.
     */
    public static double ratio(double error, double unit) {
        double r = error == 0 ? 0 : error / unit;
        return Double.isNaN(r) ? Double.POSITIVE_INFINITY : r;
    }

    /** ||Q^T Q z - z||: zero when the columns of Q are orthonormal. */
    public static double orthonormalityDefect(Matrix q, double[] z) {
        return distance(apply(q, true, apply(q, false, z)), z);
    }

    /** Column {@code j} of {@code a}, copied. */
    public static double[] column(Matrix a, int j) {
        double[] c = new double[a.rows()];
        System.arraycopy(a.data(), j * a.rows(), c, 0, a.rows());
        return c;
    }

    public static double norm2(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v * v;
        }
        return Math.sqrt(s);
    }

    /** ||x - y||_2. */
    public static double distance(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            double d = x[i] - y[i];
            s += d * d;
        }
        return Math.sqrt(s);
    }
}
