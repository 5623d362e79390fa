package io.github.convsim.linalg;

/**
 * The triangular solves with packed LU factors (column-major, L unit lower, U upper, as getrf leaves them), without
 * the row interchanges: for the 1-norm and for A^-1 A^-T the interchanges cancel or do not matter. In place, in plain
 * Java; a zero entry of x is skipped as BLAS dtrsv skips it (the same result for finite factors).
 */
final class LuSolves {
    private LuSolves() {}

    /** x := U^-1 L^-1 x. */
    static void solve(double[] f, int n, double[] x) {
        for (int c = 0; c < n; c++) { // L, unit diagonal, forward by columns
            double xc = x[c];
            if (xc != 0) {
                int col = c * n;
                for (int i = c + 1; i < n; i++) {
                    x[i] -= xc * f[col + i];
                }
            }
        }
        for (int c = n - 1; c >= 0; c--) { // U, backward by columns
            int col = c * n;
            x[c] /= f[col + c];
            double xc = x[c];
            if (xc != 0) {
                for (int i = 0; i < c; i++) {
                    x[i] -= xc * f[col + i];
                }
            }
        }
    }

    /** x := L^-T U^-T x. */
    static void solveTransposed(double[] f, int n, double[] x) {
        for (int c = 0; c < n; c++) { // U^T, forward: x_c = (x_c - U[0..c, c] . x[0..c)) / U_cc
            int col = c * n;
            double s = x[c];
            for (int i = 0; i < c; i++) {
                s -= f[col + i] * x[i];
            }
            x[c] = s / f[col + c];
        }
        for (int c = n - 1; c >= 0; c--) { // L^T, unit diagonal, backward
            int col = c * n;
            double s = x[c];
            for (int i = c + 1; i < n; i++) {
                s -= f[col + i] * x[i];
            }
            x[c] = s;
        }
    }
}
