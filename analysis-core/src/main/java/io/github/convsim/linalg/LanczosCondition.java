package io.github.convsim.linalg;

import java.util.SplittableRandom;

/**
 * cond_2(A) = s_max / s_min of a square A from the LU factors a solve has already computed, in O(n^2) per step instead
 * of an O(n^3) SVD. s_max^2 is the largest eigenvalue of A^T A, 1 / s_min^2 the largest of (A^T A)^-1 = A^-1 A^-T,
 * applied through the factors (P A = L U: A^-T x by U^T, L^T and P^T, then A^-1 by P, L and U, where P^T and P cancel).
 * Each is found by the Lanczos iteration with full reorthogonalisation (Golub and Van Loan, Matrix Computations, 4th
 * ed., section 10.1), stopped when the largest Ritz value's residual bound |beta_k y_k| (y the unit eigenvector of the
 * tridiagonal T_k) falls below {@code tolerance} times the value: the Ritz value is then within that relative distance
 * of an eigenvalue of the symmetric operator (section 10.1.4); or after n steps, where it is exact. The start vector is
 * seeded, so the answer is reproducible.
 */
public final class LanczosCondition {
    /** The relative accuracy asked of s_max and s_min by default. */
    public static final double DEFAULT_TOLERANCE = 1e-6;

    /** s_max and s_min, and the Lanczos steps each took. */
    public record Result(double sMax, double sMin, int stepsMax, int stepsMin) {
        public double condition() {
            return sMin == 0 ? Double.POSITIVE_INFINITY : sMax / sMin;
        }
    }

    private LanczosCondition() {}

    /**
     * s_max and s_min of {@code a} from its fp64 LU factors, each to relative accuracy {@code tolerance} (the
     * eigenvalue bound halves for the singular value: s = sqrt(lambda)).
     */
    public static Result of(Matrix a, LuFactors lu, double tolerance, long seed) {
        requireFactorsOf(a, lu, tolerance);
        double[] w = new double[a.rows()];
        return of(a.rows(), x -> ata(a, x, w), x -> inverseAta(lu, x), tolerance, seed);
    }

    /**
     * As {@link #of(Matrix, LuFactors, double, long)}, with A^T A and (A^T A)^-1 applied by the caller (a backend's
     * native kernels): the same iteration, start vectors and stopping rule.
     */
    public static Result of(int n, Operator gram, Operator inverseGram, double tolerance, long seed) {
        double[] big = largestEigenvalue(n, gram, tolerance, new SplittableRandom(seed));
        double[] small = largestEigenvalue(n, inverseGram, tolerance, new SplittableRandom(seed + 1));
        double sMin = small[0] <= 0 || Double.isInfinite(small[0]) ? 0 : 1 / Math.sqrt(small[0]);
        return new Result(Math.sqrt(Math.max(0, big[0])), sMin, (int) big[1], (int) small[1]);
    }

    /** Rejects what {@link #of(Matrix, LuFactors, double, long)} cannot take: a non-square A, or not its fp64 factors. */
    public static void requireFactorsOf(Matrix a, LuFactors lu, double tolerance) {
        if (a.rows() != a.cols() || lu.n() != a.rows()) {
            throw new IllegalArgumentException("cond_2 from LU factors needs a square matrix and its factors, got "
                    + a.shapeString() + " and factors of " + lu.n());
        }
        if (lu.precision() != Precision.FP64) {
            throw new IllegalArgumentException("cond_2 to " + tolerance + " needs fp64 LU factors");
        }
    }

    /** A symmetric operator x -> M x of size n, into a new array ({@code x} is kept: it is a Lanczos vector). */
    public interface Operator {
        double[] apply(double[] x);
    }

    /** [largest eigenvalue, steps] of a symmetric positive semi-definite operator of size n. */
    private static double[] largestEigenvalue(int n, Operator op, double tolerance, SplittableRandom rng) {
        int maxSteps = n;
        double[][] q = new double[Math.min(maxSteps, n) + 1][];
        double[] alpha = new double[maxSteps];
        double[] beta = new double[maxSteps + 1];
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextDouble() - 0.5;
        }
        scale(v, 1 / norm(v));
        q[0] = v;
        double theta = 0;
        for (int k = 0; k < maxSteps; k++) {
            double[] z = op.apply(q[k]);
            alpha[k] = dot(q[k], z);
            // full reorthogonalisation, twice ("twice is enough", Parlett): keeps the Ritz values from ghost copies
            for (int pass = 0; pass < 2; pass++) {
                for (int j = 0; j <= k; j++) {
                    axpy(-dot(q[j], z), q[j], z);
                }
            }
            beta[k + 1] = norm(z);
            boolean last = beta[k + 1] <= 1e-300 || k + 1 == maxSteps;
            // the tridiagonal eigenproblem costs O(k^3): solved every fourth step, a step being O(n^2)
            if (last || (k + 1) % 4 == 0) {
                double[] ritz = largestRitz(alpha, beta, k + 1);
                theta = ritz[0];
                if (last || Math.abs(beta[k + 1] * ritz[1]) <= tolerance * Math.abs(theta)) {
                    return new double[] {theta, k + 1};
                }
            }
            scale(z, 1 / beta[k + 1]);
            q[k + 1] = z;
        }
        return new double[] {theta, maxSteps};
    }

    /**
     * The largest eigenvalue of the k x k tridiagonal T (alpha on the diagonal, beta[1..k-1] beside it) and the last
     * component of its unit eigenvector (Commons Math's symmetric tridiagonal eigensolver).
     */
    static double[] largestRitz(double[] alpha, double[] beta, int k) {
        double[] main = java.util.Arrays.copyOf(alpha, k);
        double[] off = java.util.Arrays.copyOfRange(beta, 1, k);
        org.apache.commons.math3.linear.EigenDecomposition eig =
                new org.apache.commons.math3.linear.EigenDecomposition(main, off);
        double[] values = eig.getRealEigenvalues();
        int top = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[top]) {
                top = i;
            }
        }
        return new double[] {values[top], eig.getEigenvector(top).getEntry(k - 1)};
    }

    /**
     * A^T (A x), A column-major. Four columns per pass and four partial sums per dot product: the launcher's C1
     * compiler neither unrolls nor vectorises, and independent sums let the processor overlap the multiplications.
     */
    private static double[] ata(Matrix a, double[] x, double[] w) {
        int n = a.rows();
        double[] d = a.data();
        java.util.Arrays.fill(w, 0);
        int j = 0;
        for (; j + 3 < n; j += 4) {
            double x0 = x[j];
            double x1 = x[j + 1];
            double x2 = x[j + 2];
            double x3 = x[j + 3];
            int o0 = j * n;
            int o1 = o0 + n;
            int o2 = o1 + n;
            int o3 = o2 + n;
            for (int i = 0; i < n; i++) {
                w[i] += d[o0 + i] * x0 + d[o1 + i] * x1 + d[o2 + i] * x2 + d[o3 + i] * x3;
            }
        }
        for (; j < n; j++) {
            double xj = x[j];
            int off = j * n;
            for (int i = 0; i < n; i++) {
                w[i] += d[off + i] * xj;
            }
        }
        double[] out = new double[n];
        for (j = 0; j < n; j++) {
            int off = j * n;
            double s0 = 0;
            double s1 = 0;
            double s2 = 0;
            double s3 = 0;
            int i = 0;
            for (; i + 3 < n; i += 4) {
                s0 += d[off + i] * w[i];
                s1 += d[off + i + 1] * w[i + 1];
                s2 += d[off + i + 2] * w[i + 2];
                s3 += d[off + i + 3] * w[i + 3];
            }
            for (; i < n; i++) {
                s0 += d[off + i] * w[i];
            }
            out[j] = (s0 + s1) + (s2 + s3);
        }
        return out;
    }

    /**
     * A^-1 (A^-T x) through P A = L U, so A^T = U^T L^T P: A^-T x = P^T L^-T U^-T x, then A^-1 applies P first, and
     * P P^T = I: the row interchanges cancel and only the four triangular solves remain.
     */
    private static double[] inverseAta(LuFactors lu, double[] x) {
        double[] y = x.clone();
        LuSolves.solveTransposed(lu.packed().data(), lu.n(), y);
        LuSolves.solve(lu.packed().data(), lu.n(), y);
        return y;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static void axpy(double c, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += c * x[i];
        }
    }

    private static void scale(double[] v, double c) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= c;
        }
    }
}
