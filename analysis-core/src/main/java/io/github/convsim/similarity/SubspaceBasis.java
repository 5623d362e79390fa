package io.github.convsim.similarity;

import io.github.convsim.linalg.Matrix;

/**
 * Orthonormal singular vectors of one matrix, ordered by decreasing singular value, with the matrix's numerical rank:
 * prefixes longer than the rank span directions the matrix does not have, and similarity on them is undefined.
 */
public record SubspaceBasis(Matrix vectors, double[] singularValues, int rank) {

    /** Dimension of the ambient space. */
    public int dimension() {
        return vectors.rows();
    }

    /** This basis cut to its {@code k} leading vectors (itself when it has no more). */
    public SubspaceBasis prefix(int k) {
        if (vectors.cols() <= k) {
            return this;
        }
        double[] d = new double[vectors.rows() * k];
        System.arraycopy(vectors.data(), 0, d, 0, d.length);
        return new SubspaceBasis(new Matrix(vectors.rows(), k, d), singularValues, rank);
    }

    /** Rank with the tolerance max(rows, cols) * eps * s_max applied to {@code s}. */
    public static int rankOf(double[] s, int rows, int cols, double epsilon) {
        if (s.length == 0 || !(s[0] > 0)) {
            return 0;
        }
        double tol = Math.max(rows, cols) * epsilon * s[0];
        int r = 0;
        while (r < s.length && s[r] > tol) {
            r++;
        }
        return r;
    }
}
