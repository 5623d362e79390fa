package io.github.convsim.similarity;

import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import java.util.ArrayList;
import java.util.List;

/**
 * The subspace similarity of Hu et al. (2021, LoRA, section 7), used by CondLoRA for conversion matrices:
 *
 * <pre>phi(a, b; i, j) = || U_a[:, :i]^T U_b[:, :j] ||_F^2 / min(i, j)</pre>
 *
 * in [0, 1]: 1 when one prefix subspace contains the other, 0 when they are orthogonal. All pairs of layers come from
 * one product of stacked bases, S_i^T S_j, never an SVD per pair.
 */
public final class SubspaceSimilarity {
    private SubspaceSimilarity() {}

    /**
     * phi for every pair of layers, L x L; NaN where i exceeds layer a's rank or j exceeds layer b's (undefined, shown
     * as n/a).
     */
    public static double[][] phi(LinalgBackend backend, List<Matrix> bases, int[] ranks, int i, int j) {
        return fromGram(gram(backend, bases, i, j), ranks, i, j);
    }

    /** G = S_i^T S_j with S_k = [U_1[:, :k], ..., U_L[:, :k]]. */
    static Matrix gram(LinalgBackend backend, List<Matrix> bases, int i, int j) {
        return grams(backend, List.of(bases), i, j).get(0);
    }

    /** G = S_i^T S_j for each list of bases, in one batched call (for i = j, S^T S by its upper triangle). */
    static List<Matrix> grams(LinalgBackend backend, List<List<Matrix>> sets, int i, int j) {
        List<Matrix> si = new ArrayList<>(sets.size());
        List<Matrix> sj = new ArrayList<>(sets.size());
        for (List<Matrix> bases : sets) {
            si.add(stackPrefixes(bases, i));
            if (i != j) {
                sj.add(stackPrefixes(bases, j));
            }
        }
        return i == j ? backend.gramOfColumns(si, Precision.FP64) : backend.gemm(si, true, sj, false, Precision.FP64);
    }

    static double[][] fromGram(Matrix g, int[] ranks, int i, int j) {
        int layers = ranks.length;
        double[][] phi = new double[layers][layers];
        int denom = Math.min(i, j);
        for (int a = 0; a < layers; a++) {
            for (int b = 0; b < layers; b++) {
                if (i > ranks[a] || j > ranks[b]) {
                    phi[a][b] = Double.NaN;
                    continue;
                }
                double s = 0;
                for (int q = 0; q < j; q++) {
                    for (int p = 0; p < i; p++) {
                        double v = g.get(a * i + p, b * j + q);
                        s += v * v;
                    }
                }
                phi[a][b] = s / denom;
            }
        }
        return phi;
    }

    /**
     * Grassmann distance between the i- and j-dimensional prefix subspaces of every pair of layers: sqrt(sum of
     * squared principal angles), the angles being arccos of the singular values of U_a[:, :i]^T U_b[:, :j].
     */
    public static double[][] grassmann(LinalgBackend backend, List<Matrix> bases, int[] ranks, int i, int j) {
        return grassmannFromGram(backend, gram(backend, bases, i, j), ranks, i, j);
    }

    /**
     * As {@link #grassmann}, from the Gram matrix of the stacked prefixes that phi was computed from: the singular
     * values of every pair's i x j block, in one batch on the backend.
     */
    static double[][] grassmannFromGram(LinalgBackend backend, Matrix g, int[] ranks, int i, int j) {
        int layers = ranks.length;
        double[][] d = new double[layers][layers];
        List<Matrix> blocks = new ArrayList<>();
        List<int[]> pairs = new ArrayList<>();
        for (int b = 0; b < layers; b++) {
            Matrix columnsOfB = g.columnSlice(b * j, j);
            for (int a = 0; a < layers; a++) {
                if (i > ranks[a] || j > ranks[b]) {
                    d[a][b] = Double.NaN;
                } else if (a != b) {
                    // (a == b: nested prefixes of one basis, every principal angle 0; acos of cosines rounded to
                    // 1 - O(eps) would give O(sqrt(eps)) noise that differs from one BLAS kernel to another)
                    blocks.add(columnsOfB.rowSlice(a * i, i));
                    pairs.add(new int[] {a, b});
                }
            }
        }
        List<Svd> cosines = blocks.isEmpty() ? List.of() : backend.svd(blocks, false, Precision.FP64);
        for (int k = 0; k < pairs.size(); k++) {
            double sum = 0;
            for (double c : cosines.get(k).s()) {
                double theta = Math.acos(Math.min(1, Math.max(-1, c)));
                sum += theta * theta;
            }
            d[pairs.get(k)[0]][pairs.get(k)[1]] = Math.sqrt(sum);
        }
        return d;
    }

    /** Whether two layers x layers maps agree in every off-diagonal cell to 1e-9 (undefined cells agreeing too). */
    public static boolean sameOffDiagonal(double[][] a, double[][] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int x = 0; x < a.length; x++) {
            for (int y = 0; y < a.length; y++) {
                boolean bothUndefined = Double.isNaN(a[x][y]) && Double.isNaN(b[x][y]);
                if (x != y && !bothUndefined && !(Math.abs(a[x][y] - b[x][y]) <= 1e-9)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * compare's statistic from {@code byPair[pair][layer]}: each pair's mean over its defined (non-NaN) layers, then
     * the mean over the pairs that have one; NaN where none has.
     */
    public static double meanOfPairMeans(double[][] byPair) {
        double sum = 0;
        int counted = 0;
        for (double[] byLayer : byPair) {
            double s = 0;
            int n = 0;
            for (double v : byLayer) {
                if (!Double.isNaN(v)) {
                    s += v;
                    n++;
                }
            }
            if (n > 0) {
                sum += s / n;
                counted++;
            }
        }
        return counted == 0 ? Double.NaN : sum / counted;
    }

    /** The authors' "Average Similarity": the mean of phi over pairs a < b, skipping undefined cells. */
    public static double averageOffDiagonal(double[][] phi) {
        double sum = 0;
        int n = 0;
        for (int a = 0; a < phi.length; a++) {
            for (int b = a + 1; b < phi.length; b++) {
                if (!Double.isNaN(phi[a][b])) {
                    sum += phi[a][b];
                    n++;
                }
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** E[phi(i, j)] for independent uniformly random subspaces of R^n: i j / n / min(i, j) = max(i, j) / n. */
    public static double analyticExpectation(int n, int i, int j) {
        return (double) Math.max(i, j) / n;
    }

    static Matrix stackPrefixes(List<Matrix> bases, int k) {
        int n = bases.get(0).rows();
        double[] out = new double[n * k * bases.size()];
        for (int l = 0; l < bases.size(); l++) {
            Matrix u = bases.get(l);
            if (u.rows() != n) {
                throw new IllegalArgumentException("bases live in spaces of different dimension: " + n + " and "
                        + u.rows());
            }
            if (u.cols() < k) {
                throw new IllegalArgumentException("basis of layer index " + l + " has " + u.cols()
                        + " vectors, fewer than " + k);
            }
            System.arraycopy(u.data(), 0, out, l * n * k, n * k);
        }
        return new Matrix(n, k * bases.size(), out);
    }
}
