package io.github.convsim.similarity;

import io.github.convsim.conversion.Factor;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import java.util.ArrayList;
import java.util.List;

/**
 * Left and right singular vectors of each layer's matrix, from one batched thin SVD. For a product L R (C_dW = C_B A)
 * the SVD comes from the factors: L = Q R_L (thin QR), then the SVD of the small R_L R = U S V^T gives L R = (Q U) S
 * V^T, so the n x n product is never formed.
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
        List<Svd> svds = backend.svd(matrices, true, Precision.FP64);
        List<Pair> out = new ArrayList<>(svds.size());
        for (int k = 0; k < svds.size(); k++) {
            Matrix m = matrices.get(k);
            out.add(pair(svds.get(k).u(), svds.get(k), m.rows(), m.cols()));
        }
        return out;
    }

    /**
     * The bases of one conversion matrix at each layer: C_A, C_B, or C_dW = C_B A taken from its factors (the
     * {@code cA} list may be null unless {@code factor} is A, {@code cB} and {@code a} unless it is B or dW).
     */
    public static List<Pair> ofFactor(LinalgBackend backend, Factor factor, List<Matrix> cA, List<Matrix> cB,
                                      List<Matrix> a) {
        return switch (factor) {
            case A -> of(backend, cA);
            case B -> of(backend, cB);
            case DW -> ofProducts(backend, cB, a);
        };
    }

    /** Singular vectors of each product left_k right_k, computed from the factors. */
    public static List<Pair> ofProducts(LinalgBackend backend, List<Matrix> left, List<Matrix> right) {
        List<Matrix> q = backend.orthonormalBasis(left, Precision.FP64);
        List<Matrix> r = backend.gemm(q, true, left, false, Precision.FP64);
        List<Matrix> core = backend.gemm(r, false, right, false, Precision.FP64);
        List<Svd> svds = backend.svd(core, true, Precision.FP64);
        List<Matrix> u = backend.gemm(q, false, svds.stream().map(Svd::u).toList(), false, Precision.FP64);
        List<Pair> out = new ArrayList<>(svds.size());
        for (int k = 0; k < svds.size(); k++) {
            out.add(pair(u.get(k), svds.get(k), left.get(k).rows(), right.get(k).cols()));
        }
        return out;
    }

    private static Pair pair(Matrix u, Svd svd, int rows, int cols) {
        int rank = SubspaceBasis.rankOf(svd.s(), rows, cols, Precision.FP64.epsilon());
        return new Pair(new SubspaceBasis(u, svd.s(), rank), new SubspaceBasis(svd.v(), svd.s(), rank));
    }
}
