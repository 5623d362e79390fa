package io.github.convsim.linalg;

/** Norms that are cheaper computed from small Gram matrices than from the product itself. */
public final class Norms {
    private Norms() {}

    /**
     * ||L R||_F for L [m, r] and R [r, n] without forming the m x n product: ||L R||_F^2 = trace((L^T L)(R R^T)),
     * two r x r Gram matrices.
     */
    public static double productFrobenius(Matrix left, Matrix right) {
        int r = left.cols();
        if (right.rows() != r) {
            throw new IllegalArgumentException("cannot multiply " + left.shapeString() + " by " + right.shapeString());
        }
        double[] ltl = new double[r * r];
        double[] rrt = new double[r * r];
        double[] l = left.data();
        double[] x = right.data();
        int m = left.rows();
        int n = right.cols();
        for (int p = 0; p < r; p++) {
            for (int q = p; q < r; q++) {
                double s = 0;
                for (int i = 0; i < m; i++) {
                    s += l[i + p * m] * l[i + q * m];
                }
                ltl[p + q * r] = s;
                ltl[q + p * r] = s;
                double t = 0;
                for (int k = 0; k < n; k++) {
                    t += x[p + k * r] * x[q + k * r];
                }
                rrt[p + q * r] = t;
                rrt[q + p * r] = t;
            }
        }
        double tr = 0;
        for (int p = 0; p < r; p++) {
            for (int q = 0; q < r; q++) {
                tr += ltl[p + q * r] * rrt[q + p * r];
            }
        }
        return Math.sqrt(Math.max(tr, 0));
    }
}
