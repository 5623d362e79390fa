package io.github.convsim.similarity;

import io.github.convsim.conversion.Factor;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Left and right singular vectors of each layer's matrix, from one batched thin SVD. For a product L R (C_dW = C_B A)
 * the SVD comes from the factors: with L's thin SVD L = U_L S_L V_L^T, the SVD of the small S_L V_L^T R = U S V^T
 * gives L R = (U_L U) S V^T, so the n x n product is never formed, and L's SVD is the one C_B's own bases come from.
 */
public final class FactorBases {
    /** Bases of one layer's matrix. */
    public record Pair(SubspaceBasis left, SubspaceBasis right) {
        public SubspaceBasis side(Side side) {
            return side == Side.LEFT ? left : right;
        }

        /** The same pair with each side cut to its {@code k} leading vectors, all phi(i, j) with i, j <= k needs. */
        public Pair prefix(int k) {
            return new Pair(left == null ? null : left.prefix(k), right == null ? null : right.prefix(k));
        }
    }

    private FactorBases() {}

    /** Singular vectors of each matrix. */
    public static List<Pair> of(LinalgBackend backend, List<Matrix> matrices) {
        return pairs(backend.svd(matrices, true, Precision.FP64), matrices);
    }

    /**
     * The bases of one conversion matrix at each layer: C_A, C_B, or C_dW = C_B A taken from its factors (the
     * {@code cA} list may be null unless {@code factor} is A, {@code cB} and {@code a} unless it is B or dW).
     */
    public static List<Pair> ofFactor(LinalgBackend backend, Factor factor, List<Matrix> cA, List<Matrix> cB,
                                      List<Matrix> a) {
        return ofFactors(backend, List.of(factor), cA, cB, a).get(factor);
    }

    /**
     * The bases of each of {@code factors}, as {@link #ofFactor} gives them; C_B's SVDs are computed once for C_B and
     * C_dW together.
     */
    public static Map<Factor, List<Pair>> ofFactors(LinalgBackend backend, List<Factor> factors, List<Matrix> cA,
                                                    List<Matrix> cB, List<Matrix> a) {
        Map<Factor, List<Pair>> out = new EnumMap<>(Factor.class);
        if (factors.contains(Factor.A)) {
            out.put(Factor.A, of(backend, cA));
        }
        if (factors.contains(Factor.B) || factors.contains(Factor.DW)) {
            List<Svd> svds = backend.svd(cB, true, Precision.FP64);
            if (factors.contains(Factor.B)) {
                out.put(Factor.B, pairs(svds, cB));
            }
            if (factors.contains(Factor.DW)) {
                out.put(Factor.DW, ofProducts(backend, svds, cB, a));
            }
        }
        return out;
    }

    /** Singular vectors of each product left_k right_k, computed from the factors. */
    public static List<Pair> ofProducts(LinalgBackend backend, List<Matrix> left, List<Matrix> right) {
        return ofProducts(backend, backend.svd(left, true, Precision.FP64), left, right);
    }

    /** As {@link #ofProducts(LinalgBackend, List, List)}, from the thin SVDs of the left factors. */
    private static List<Pair> ofProducts(LinalgBackend backend, List<Svd> leftSvds, List<Matrix> left,
                                         List<Matrix> right) {
        List<Matrix> vtRight = backend.gemm(leftSvds.stream().map(Svd::vt).toList(), false, right, false,
                Precision.FP64);
        List<Matrix> core = new ArrayList<>(vtRight.size());
        for (int k = 0; k < vtRight.size(); k++) {
            core.add(scaleRows(vtRight.get(k), leftSvds.get(k).s()));
        }
        List<Svd> svds = backend.svd(core, true, Precision.FP64);
        List<Matrix> u = backend.gemm(leftSvds.stream().map(Svd::u).toList(), false,
                svds.stream().map(Svd::u).toList(), false, Precision.FP64);
        List<Pair> out = new ArrayList<>(svds.size());
        for (int k = 0; k < svds.size(); k++) {
            out.add(pair(u.get(k), svds.get(k), left.get(k).rows(), right.get(k).cols()));
        }
        return out;
    }

    /**
     * A right factor A (r x in, r <= in) of products C A, kept as the thin QR of its transpose, A^T = Q R: then
     * C A = (C R^T) Q^T, and one QR serves every product with A ({@link #withProducts}), as a planted control's A
     * serves each of its noise levels.
     *
     * @param q    Q, in x r, orthonormal columns
     * @param r    R, r x r
     * @param cols in, the product's number of columns
     */
    public record RightFactor(Matrix q, Matrix r, int cols) {}

    /** The QR of each A's transpose, for {@link #withProducts}. */
    public static List<RightFactor> rightFactors(LinalgBackend backend, List<Matrix> a) {
        List<Matrix> at = a.stream().map(Matrix::transpose).toList();
        List<Matrix> q = backend.orthonormalBasis(at, Precision.FP64);
        List<Matrix> r = backend.gemm(q, true, at, false, Precision.FP64);
        List<RightFactor> out = new ArrayList<>(a.size());
        for (int k = 0; k < a.size(); k++) {
            out.add(new RightFactor(q.get(k), r.get(k), a.get(k).cols()));
        }
        return out;
    }

    /**
     * The bases of each C_k and of each product C_k A_k ({pair of C_k, pair of C_k A_k}), from one thin SVD of C_k:
     * with C = U S V^T and A = R^T Q^T, C A = U (S V^T R^T) Q^T, and the SVD of the small core S V^T R^T = U' S' V'^T
     * gives C A = (U U') S' (Q V')^T, never an SVD of an r x in matrix.
     */
    public static List<Pair[]> withProducts(LinalgBackend backend, List<Matrix> c, List<RightFactor> a) {
        return withProducts(backend, backend.svd(c, true, Precision.FP64), c, a);
    }

    /** As {@link #withProducts(LinalgBackend, List, List)}, from the thin SVDs of the C_k. */
    public static List<Pair[]> withProducts(LinalgBackend backend, List<Svd> svds, List<Matrix> c,
                                            List<RightFactor> a) {
        List<Matrix> core = backend.gemm(svds.stream().map(Svd::vt).toList(), false,
                a.stream().map(RightFactor::r).toList(), true, Precision.FP64);
        for (int k = 0; k < core.size(); k++) {
            scaleRows(core.get(k), svds.get(k).s());
        }
        List<Svd> cores = backend.svd(core, true, Precision.FP64);
        List<Matrix> u = backend.gemm(svds.stream().map(Svd::u).toList(), false, cores.stream().map(Svd::u).toList(),
                false, Precision.FP64);
        List<Matrix> v = backend.gemm(a.stream().map(RightFactor::q).toList(), false,
                cores.stream().map(Svd::v).toList(), false, Precision.FP64);
        List<Pair[]> out = new ArrayList<>(c.size());
        for (int k = 0; k < c.size(); k++) {
            Matrix ck = c.get(k);
            double[] s = cores.get(k).s();
            int rank = SubspaceBasis.rankOf(s, ck.rows(), a.get(k).cols(), Precision.FP64.epsilon());
            out.add(new Pair[] {pair(svds.get(k).u(), svds.get(k), ck.rows(), ck.cols()),
                new Pair(new SubspaceBasis(u.get(k), s, rank), new SubspaceBasis(v.get(k), s, rank))});
        }
        return out;
    }

    /** diag(s) m, in place on m's own array (m is a fresh product). */
    private static Matrix scaleRows(Matrix m, double[] s) {
        double[] d = m.data();
        int rows = m.rows();
        for (int j = 0; j < m.cols(); j++) {
            for (int i = 0; i < rows; i++) {
                d[i + j * rows] *= s[i];
            }
        }
        return m;
    }

    private static List<Pair> pairs(List<Svd> svds, List<Matrix> matrices) {
        List<Pair> out = new ArrayList<>(svds.size());
        for (int k = 0; k < svds.size(); k++) {
            Matrix m = matrices.get(k);
            out.add(pair(svds.get(k).u(), svds.get(k), m.rows(), m.cols()));
        }
        return out;
    }

    private static Pair pair(Matrix u, Svd svd, int rows, int cols) {
        int rank = SubspaceBasis.rankOf(svd.s(), rows, cols, Precision.FP64.epsilon());
        return new Pair(new SubspaceBasis(u, svd.s(), rank), new SubspaceBasis(svd.v(), svd.s(), rank));
    }
}
