package io.github.convsim.linalg;

import static org.bytedeco.openblas.global.openblas.LAPACKE_dgecon;

/**
 * cond_1(A) = ||A||_1 ||A^-1||_1 estimated from an LU factorisation already at hand by LAPACK's gecon (Hager's method
 * as refined by Higham, a few solves with the factors: O(n^2) where an exact cond_2 needs an O(n^3) SVD). The
 * estimate is a lower bound of cond_1 and in practice within a factor of 3 of it; cond_1 and cond_2 differ by at most
 * a factor n. Runs on the CPU whichever backend produced the factors (they live in host memory).
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
}
