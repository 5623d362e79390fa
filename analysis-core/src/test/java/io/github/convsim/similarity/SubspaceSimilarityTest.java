package io.github.convsim.similarity;

import io.github.convsim.CpuBackendTest;
import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.junit.jupiter.api.Test;

class SubspaceSimilarityTest extends CpuBackendTest {

    static List<Matrix> frames(Random rng, int layers, int n, int k) {
        List<Matrix> raw = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            raw.add(new Matrix(n, k, TestData.gaussian(rng, n * k)));
        }
        return backend.orthonormalBasis(raw, Precision.FP64);
    }

    static int[] full(int layers, int k) {
        int[] r = new int[layers];
        Arrays.fill(r, k);
        return r;
    }

    @Test
    void identicalSubspacesGiveOneAndOrthogonalOnesZero() {
        Matrix e = Matrix.zeros(6, 4);
        for (int k = 0; k < 4; k++) {
            e.set(k, k, 1);
        }
        Matrix same = e.copy();
        Matrix orth = Matrix.zeros(6, 4);
        orth.set(4, 0, 1);
        orth.set(5, 1, 1);
        orth.set(0, 2, 1); // shares e_0 only in its third column
        orth.set(1, 3, 1);
        double[][] phi = SubspaceSimilarity.phi(backend, List.of(e, same, orth), full(3, 4), 2, 2);
        assertEquals(1.0, phi[0][1], 1e-15);
        assertEquals(0.0, phi[0][2], 1e-15);
        double[][] phi44 = SubspaceSimilarity.phi(backend, List.of(e, orth), full(2, 4), 4, 4);
        assertEquals(0.5, phi44[0][1], 1e-15); // span{e4, e5, e0, e1} meets span{e0..e3} in 2 of 4 dimensions
        double[][] g = SubspaceSimilarity.grassmann(backend, List.of(e, same, orth), full(3, 4), 2, 2);
        assertEquals(0.0, g[0][1], 1e-7);
        assertEquals(Math.sqrt(2) * Math.PI / 2, g[0][2], 1e-12);
        List<Matrix> random = frames(new Random(5), 2, 30, 4);
        for (int[] ij : new int[][] {{2, 2}, {1, 3}, {4, 2}}) {
            double[][] self = SubspaceSimilarity.grassmann(backend, random, full(2, 4), ij[0], ij[1]);
            // a subspace against itself (or a prefix of its basis against a longer one) is at distance 0, exactly
            assertEquals(0.0, self[0][0]);
            assertEquals(0.0, self[1][1]);
            assertTrue(self[0][1] > 0.5);
        }
    }

    @Test
    void stackedProductEqualsTheDefinitionPairByPair() {
        Random rng = new Random(21);
        List<Matrix> u = frames(rng, 5, 30, 6);
        for (int[] ij : new int[][] {{6, 6}, {2, 5}, {4, 1}}) {
            double[][] phi = SubspaceSimilarity.phi(backend, u, full(5, 6), ij[0], ij[1]);
            for (int a = 0; a < 5; a++) {
                for (int b = 0; b < 5; b++) {
                    DMatrixRMaj ua = prefix(u.get(a), ij[0]);
                    DMatrixRMaj ub = prefix(u.get(b), ij[1]);
                    DMatrixRMaj p = new DMatrixRMaj(ij[0], ij[1]);
                    CommonOps_DDRM.multTransA(ua, ub, p);
                    double f = NormOps_DDRM.normF(p);
                    assertEquals(f * f / Math.min(ij[0], ij[1]), phi[a][b], 1e-14);
                }
            }
        }
    }

    /** Principal angles of every pair, from the backend's batch of SVDs, equal those of EJML's SVD pair by pair. */
    @Test
    void grassmannEqualsPrincipalAnglesFromAnIndependentSvd() {
        List<Matrix> u = frames(new Random(24), 4, 30, 6);
        int[] ranks = {6, 6, 3, 6};
        for (int[] ij : new int[][] {{6, 6}, {2, 5}, {4, 1}}) {
            double[][] g = SubspaceSimilarity.grassmann(backend, u, ranks, ij[0], ij[1]);
            for (int a = 0; a < 4; a++) {
                for (int b = 0; b < 4; b++) {
                    if (ij[0] > ranks[a] || ij[1] > ranks[b]) {
                        assertTrue(Double.isNaN(g[a][b]), "beyond layer 2's rank");
                        continue;
                    }
                    DMatrixRMaj p = new DMatrixRMaj(ij[0], ij[1]);
                    CommonOps_DDRM.multTransA(prefix(u.get(a), ij[0]), prefix(u.get(b), ij[1]), p);
                    var svd = org.ejml.dense.row.factory.DecompositionFactory_DDRM.svd(p.numRows, p.numCols, false,
                            false, true);
                    assertTrue(svd.decompose(p));
                    double sum = 0;
                    for (double c : svd.getSingularValues()) {
                        double theta = Math.acos(Math.min(1, c));
                        sum += theta * theta;
                    }
                    assertEquals(a == b ? 0 : Math.sqrt(sum), g[a][b], a == b ? 0 : 1e-12, a + " " + b);
                }
            }
        }
    }

    @Test
    void averageIsOverPairsAboveTheDiagonal() {
        double[][] phi = {{1, 0.2, 0.4}, {0.9, 1, 0.6}, {0.9, 0.9, 1}};
        assertEquals(0.4, SubspaceSimilarity.averageOffDiagonal(phi), 1e-15);
        double[][] undefined = {{Double.NaN, Double.NaN}, {Double.NaN, Double.NaN}};
        assertTrue(Double.isNaN(SubspaceSimilarity.averageOffDiagonal(undefined)));
    }

    @Test
    void prefixesBeyondTheRankAreUndefined() {
        Random rng = new Random(22);
        List<Matrix> u = frames(rng, 3, 20, 4);
        double[][] phi = SubspaceSimilarity.phi(backend, u, new int[] {4, 2, 4}, 3, 3);
        assertTrue(Double.isNaN(phi[0][1]));
        assertTrue(Double.isNaN(phi[1][2]));
        assertFalse(Double.isNaN(phi[0][2]));
    }

    @Test
    void randomSubspacesAverageMaxIJOverN() {
        // E[phi(i, j)] = max(i, j) / n for independent Haar subspaces; the sampled mean agrees within its error
        Random rng = new Random(23);
        int n = 50;
        double sum = 0;
        int count = 0;
        for (int rep = 0; rep < 40; rep++) {
            double[][] phi = SubspaceSimilarity.phi(backend, frames(rng, 6, n, 5), full(6, 5), 2, 5);
            sum += SubspaceSimilarity.averageOffDiagonal(phi) * 15;
            count += 15;
        }
        assertEquals(SubspaceSimilarity.analyticExpectation(n, 2, 5), sum / count, 0.004);
        assertEquals(0.1, SubspaceSimilarity.analyticExpectation(n, 2, 5), 0.0);
    }

    static DMatrixRMaj prefix(Matrix u, int k) {
        DMatrixRMaj d = new DMatrixRMaj(u.rows(), k);
        for (int i = 0; i < u.rows(); i++) {
            for (int j = 0; j < k; j++) {
                d.set(i, j, u.get(i, j));
            }
        }
        return d;
    }
}
