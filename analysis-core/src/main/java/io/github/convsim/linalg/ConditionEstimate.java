package io.github.convsim.linalg;

import static org.bytedeco.openblas.global.openblas.LAPACKE_dgecon;

/**
 * cond_1(A) = ||A||_1 ||A^-1||_1 estimated from an LU factorisation already at hand by LAPACK's gecon (Hager's method
 * as refined by Higham, a few solves with the factors: O(n^2) where an exact cond_2 needs an O(n^3) SVD). The
 * estimate is a lower bound of cond_1 and in practice within a factor of 3 of it; cond_1 and cond_2 differ by at most
 * a factor n. Runs on the CPU whichever backend produced the factors (they live in host memory).
 *
 * <p>{@link #fromLuInJava} is the same estimate without OpenBLAS, for backends that do not load it (the CUDA
 * backend): LAPACK's dgecon and dlacn2 (Higham 1988, Algorithm 4.1) step for step, with plain triangular solves where
 * dgecon calls dlatrs (which only rescales to avoid overflow, never needed below cond 1e300).
 */
public final class ConditionEstimate {
    private static final int COL_MAJOR = 102;

    private ConditionEstimate() {}

    /** ||A||_1, the largest column sum of absolute values. */
    public static double oneNorm(Matrix a) {
        double[] d = a.data();
        int rows = a.rows();
        double max = 0;
        for (int j = 0; j < a.cols(); j++) {
            double s = 0;
            for (int i = 0; i < rows; i++) {
                s += Math.abs(d[i + j * rows]);
            }
            max = Math.max(max, s);
        }
        return max;
    }

    /**
     * The estimate of cond_1(A) from P A = L U and ||A||_1; infinite when gecon finds A singular to working precision.
     */
    public static double fromLu(LuFactors lu, double oneNormOfA) {
        int n = lu.n();
        if (n == 0) {
            return Double.NaN;
        }
        double[] rcond = new double[1];
        int info = LAPACKE_dgecon(COL_MAJOR, (byte) '1', n, lu.packed().data(), n, oneNormOfA, rcond);
        if (info < 0) {
            throw new IllegalArgumentException("LAPACK gecon: argument " + (-info) + " is invalid");
        }
        return rcond[0] == 0 ? Double.POSITIVE_INFINITY : 1 / rcond[0];
    }

    /**
     * x := U^-1 L^-1 x, or with {@code transposed} x := L^-T U^-T x, for the packed factors of one matrix: the solves
     * dgecon asks for, applied where the factors are (on the CPU, or on a GPU holding them).
     */
    @FunctionalInterface
    public interface InverseOfFactors {
        void apply(double[] x, boolean transposed);
    }

    /** {@link #fromLu}'s estimate in plain Java: LAPACK dgecon's iteration, equal to it up to rounding. */
    public static double fromLuInJava(LuFactors lu, double oneNormOfA) {
        double[] f = lu.packed().data();
        int n = lu.n();
        return fromInverse(n, oneNormOfA, (x, transposed) -> {
            if (transposed) {
                LuSolves.solveTransposed(f, n, x);
            } else {
                LuSolves.solve(f, n, x);
            }
        });
    }

    /**
     * The estimate of cond_1 for an n x n matrix of 1-norm {@code oneNormOfA}, its inverse applied by {@code inverse}:
     * dgecon's iteration (dlacn2's reverse communication), whoever applies the solves.
     */
    public static double fromInverse(int n, double oneNormOfA, InverseOfFactors inverse) {
        if (n == 0) {
            return Double.NaN;
        }
        if (oneNormOfA == 0) {
            return Double.POSITIVE_INFINITY;
        }
        // ||A^-1||_1 estimated by dlacn2: kase 1 asks for A^-1 x, kase 2 for A^-T x; the row interchanges do not change
        // a 1-norm, so dgecon (and this) apply U^-1 L^-1 and L^-T U^-T alone
        double[] x = new double[n];
        int[] sign = new int[n];
        java.util.Arrays.fill(x, 1.0 / n);
        inverse.apply(x, false);
        if (n == 1) {
            return finish(Math.abs(x[0]), oneNormOfA);
        }
        double est = sum(x);
        toSigns(x, sign);
        inverse.apply(x, true);
        int j = largest(x);
        for (int iter = 2; ; ) {
            java.util.Arrays.fill(x, 0);
            x[j] = 1;
            inverse.apply(x, false);
            double old = est;
            est = sum(x);
            boolean repeated = true;
            for (int i = 0; i < n; i++) {
                if ((x[i] >= 0 ? 1 : -1) != sign[i]) {
                    repeated = false;
                    break;
                }
            }
            if (repeated || est <= old) {
                break;
            }
            toSigns(x, sign);
            inverse.apply(x, true);
            int last = j;
            j = largest(x);
            if (x[last] == Math.abs(x[j]) || iter >= 5) {
                break;
            }
            iter++;
        }
        // every path ends with the alternating-sign test vector, which catches what the iteration misses
        double alt = 1;
        for (int i = 0; i < n; i++) {
            x[i] = alt * (1 + (double) i / (n - 1));
            alt = -alt;
        }
        inverse.apply(x, false);
        return finish(Math.max(est, 2 * (sum(x) / (3.0 * n))), oneNormOfA);
    }

    private static double finish(double inverseNorm, double oneNormOfA) {
        if (!Double.isFinite(inverseNorm)) {
            return Double.POSITIVE_INFINITY;
        }
        double rcond = inverseNorm == 0 ? 0 : (1 / inverseNorm) / oneNormOfA;
        return rcond == 0 ? Double.POSITIVE_INFINITY : 1 / rcond;
    }

    /** x_i := sign(x_i) (+1 for 0, as dlacn2), remembered in {@code sign}. */
    private static void toSigns(double[] x, int[] sign) {
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] >= 0 ? 1 : -1;
            sign[i] = (int) x[i];
        }
    }

    private static double sum(double[] x) {
        double s = 0;
        for (double d : x) {
            s += Math.abs(d);
        }
        return s;
    }

    /** The first index of the largest |x_i| (BLAS idamax). */
    private static int largest(double[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (Math.abs(x[i]) > Math.abs(x[best])) {
                best = i;
            }
        }
        return best;
    }
}
