package io.github.convsim.linalg;

/**
 * A thin singular value decomposition A = U diag(s) V^T of an m x n matrix, k = min(m, n): U is m x k, s holds k
 * values in descending order, vt is V^T (k x n). U or vt is null when not requested.
 */
public record Svd(Matrix u, double[] s, Matrix vt) {

    /** s_max / s_min (infinite when s_min is zero). */
    public double conditionNumber() {
        return conditionNumber(s);
    }

    public static double conditionNumber(double[] s) {
        if (s.length == 0) {
            return Double.NaN;
        }
        return s[s.length - 1] == 0 ? Double.POSITIVE_INFINITY : s[0] / s[s.length - 1];
    }

    /** Number of singular values above tol * s_max. */
    public static int numericalRank(double[] s, double tol) {
        if (s.length == 0 || s[0] == 0) {
            return 0;
        }
        int r = 0;
        while (r < s.length && s[r] > tol * s[0]) {
            r++;
        }
        return r;
    }

    /** V (n x k), the right singular vectors as columns. */
    public Matrix v() {
        return vt.transpose();
    }
}
