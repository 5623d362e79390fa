package io.github.convsim.similarity;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.CpuBackendTest;
import io.github.convsim.TestData;
import io.github.convsim.conversion.Factor;
import io.github.convsim.linalg.Matrix;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.Test;

class FactorBasesTest extends CpuBackendTest {
    private static Matrix random(Random rng, int rows, int cols) {
        return new Matrix(rows, cols, TestData.gaussian(rng, rows * cols));
    }

    /** left (rows x r) times right (r x cols), with left of rank {@code rank}: its last columns repeat the first. */
    private static Matrix ofRank(Random rng, int rows, int r, int rank) {
        Matrix m = random(rng, rows, r);
        for (int j = rank; j < r; j++) {
            for (int i = 0; i < rows; i++) {
                m.set(i, j, rank == 0 ? 0 : m.get(i, j % rank) * (1 + j));
            }
        }
        return m;
    }

    private static final int OUT = 120;
    private static final int R = 8;
    private static final int IN = 90;
    /** The numerical ranks of the left factors of {@link #products}. */
    private static final int[] RANKS = {8, 3, 0};

    /** {left factors (OUT x R, of ranks RANKS), right factors (R x IN, Gaussian)}. */
    private static List<List<Matrix>> products(long seed) {
        Random rng = new Random(seed);
        List<Matrix> left = new ArrayList<>();
        List<Matrix> right = new ArrayList<>();
        for (int rank : RANKS) {
            left.add(ofRank(rng, OUT, R, rank));
            right.add(random(rng, R, IN));
        }
        return List.of(left, right);
    }

    @Test
    void dwBasesFromTheFactorsAreThoseOfTheFormedProduct() {
        int out = OUT;
        int r = R;
        int in = IN;
        int[] ranks = RANKS;
        List<List<Matrix>> problems = products(5);
        List<Matrix> cB = problems.get(0);
        List<Matrix> a = problems.get(1);
        Map<Factor, List<FactorBases.Pair>> together = FactorBases.ofFactors(backend, List.of(Factor.B, Factor.DW),
                null, cB, a);
        List<FactorBases.Pair> alone = FactorBases.ofFactor(backend, Factor.DW, null, cB, a);
        for (int k = 0; k < ranks.length; k++) {
            DMatrixRMaj product = new DMatrixRMaj(out, in);
            CommonOps_DDRM.mult(ejml(cB.get(k)), ejml(a.get(k)), product);
            SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(out, in, true, true, true);
            assertTrue(svd.decompose(product));
            double[] s = svd.getSingularValues().clone();
            java.util.Arrays.sort(s);
            double sMax = s[s.length - 1];
            for (FactorBases.Pair p : List.of(together.get(Factor.DW).get(k), alone.get(k))) {
                SubspaceBasis left = p.left();
                assertEquals(ranks[k], left.rank(), "numerical rank of problem " + k);
                for (int i = 0; i < r; i++) {
                    assertEquals(s[s.length - 1 - i], left.singularValues()[i], 1e-12 * Math.max(sMax, 1),
                            "singular value " + i + " of problem " + k);
                }
                // the leading left vectors span what the product maps onto: P U = U for the product's own projector
                if (ranks[k] > 0) {
                    Matrix u = left.vectors();
                    DMatrixRMaj uk = new DMatrixRMaj(out, ranks[k]);
                    for (int i = 0; i < out; i++) {
                        for (int j = 0; j < ranks[k]; j++) {
                            uk.set(i, j, u.get(i, j));
                        }
                    }
                    DMatrixRMaj ut = new DMatrixRMaj(ranks[k], out);
                    CommonOps_DDRM.transpose(uk, ut);
                    DMatrixRMaj residual = new DMatrixRMaj(out, in);
                    DMatrixRMaj proj = new DMatrixRMaj(ranks[k], in);
                    CommonOps_DDRM.mult(ut, product, proj);
                    CommonOps_DDRM.mult(uk, proj, residual);
                    CommonOps_DDRM.subtractEquals(residual, product);
                    assertTrue(CommonOps_DDRM.elementMaxAbs(residual) < 1e-12 * sMax,
                            "U U^T (B A) = B A, problem " + k + ": " + CommonOps_DDRM.elementMaxAbs(residual));
                }
            }
            // C_B's own bases come from the same SVD: the same as asking for B alone
            FactorBases.Pair b = FactorBases.ofFactor(backend, Factor.B, null, cB, a).get(k);
            assertArrayEquals(b.left().vectors().data(), together.get(Factor.B).get(k).left().vectors().data(), 0);
        }
    }
    /**
     * Products through a right factor's QR (one QR of A for many C, as planted controls at every noise level) give the
     * bases of the SVD from the factors: the same singular values and rank, the same singular vectors up to sign on
     * either side, and C's own bases exactly those of its SVD alone.
     */
    @Test
    void productsThroughTheRightFactorsQrAreThoseFromTheFactors() {
        int r = R;
        int[] ranks = RANKS;
        List<List<Matrix>> problems = products(11);
        List<Matrix> c = problems.get(0);
        List<Matrix> a = problems.get(1);
        List<FactorBases.Pair[]> viaQr = FactorBases.withProducts(backend, c, FactorBases.rightFactors(backend, a));
        List<FactorBases.Pair> fromFactors = FactorBases.ofProducts(backend, c, a);
        List<FactorBases.Pair> alone = FactorBases.of(backend, c);
        for (int k = 0; k < ranks.length; k++) {
            assertArrayEquals(alone.get(k).left().vectors().data(), viaQr.get(k)[0].left().vectors().data(), 0);
            assertArrayEquals(alone.get(k).right().vectors().data(), viaQr.get(k)[0].right().vectors().data(), 0);
            FactorBases.Pair got = viaQr.get(k)[1];
            FactorBases.Pair want = fromFactors.get(k);
            assertEquals(ranks[k], got.left().rank(), "rank of problem " + k);
            assertEquals(want.left().rank(), got.left().rank());
            double sMax = Math.max(1, want.left().singularValues()[0]);
            for (int i = 0; i < r; i++) {
                assertEquals(want.left().singularValues()[i], got.left().singularValues()[i], 1e-12 * sMax,
                        "singular value " + i + " of problem " + k);
            }
            for (int i = 0; i < ranks[k]; i++) {
                for (Side side : Side.values()) {
                    Matrix g = got.side(side).vectors();
                    Matrix w = want.side(side).vectors();
                    assertEquals(g.rows(), w.rows(), side + " dimension");
                    double dot = 0;
                    for (int q = 0; q < g.rows(); q++) {
                        dot += g.get(q, i) * w.get(q, i);
                    }
                    assertEquals(1, Math.abs(dot), 1e-9, side + " vector " + i + " of problem " + k);
                }
            }
        }
    }
}
