package io.github.convsim.linalg;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every {@link LinalgBackend} must do, written once and run for each backend (the CPU always; CUDA wherever a GPU
 * is present): each operation against EJML (pure Java, an independent implementation) and against cases with known
 * answers, in fp64 and fp32, for a batch of several shapes; exact singularity reported as such; the 1-norm condition
 * estimate within LAPACK's usual factor of the truth; and wrong arguments refused with an IllegalArgumentException
 * before any native code runs, for every backend {@link Backends} hands out.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class LinalgBackendContract {
    /** The backend under test, as Backends hands it out (its self-check passed, its arguments checked). */
    protected abstract LinalgBackend open();

    private LinalgBackend backend;

    @BeforeAll
    void openBackend() {
        backend = open();
    }

    @AfterAll
    void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    protected static Matrix random(Random rng, int rows, int cols) {
        double[] d = new double[rows * cols];
        for (int i = 0; i < d.length; i++) {
            d[i] = rng.nextGaussian();
        }
        return new Matrix(rows, cols, d);
    }

    protected static DMatrixRMaj ejml(Matrix m) {
        DMatrixRMaj d = new DMatrixRMaj(m.rows(), m.cols());
        for (int i = 0; i < m.rows(); i++) {
            for (int j = 0; j < m.cols(); j++) {
                d.set(i, j, m.get(i, j));
            }
        }
        return d;
    }

    /** ||got - expected||_F / ||expected||_F. */
    protected static double relativeError(DMatrixRMaj expected, Matrix got) {
        assertEquals(expected.numRows, got.rows(), "rows");
        assertEquals(expected.numCols, got.cols(), "columns");
        DMatrixRMaj diff = ejml(got);
        CommonOps_DDRM.subtractEquals(diff, expected);
        return NormOps_DDRM.normF(diff) / NormOps_DDRM.normF(expected);
    }

    private static double tolerance(Precision p) {
        return p == Precision.FP64 ? 1e-10 : 2e-3;
    }

    @Test
    void gemmEqualsEjmlForEveryTransposeAndPrecision() {
        Random rng = new Random(1);
        for (Precision p : Precision.values()) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    List<Matrix> as = new ArrayList<>();
                    List<Matrix> bs = new ArrayList<>();
                    int[][] shapes = {{7, 5, 3}, {64, 33, 17}, {1, 9, 1}};
                    for (int[] s : shapes) {
                        as.add(ta ? random(rng, s[1], s[0]) : random(rng, s[0], s[1]));
                        bs.add(tb ? random(rng, s[2], s[1]) : random(rng, s[1], s[2]));
                    }
                    List<Matrix> cs = backend.gemm(as, ta, bs, tb, p);
                    assertEquals(shapes.length, cs.size());
                    for (int k = 0; k < shapes.length; k++) {
                        DMatrixRMaj a = ejml(as.get(k));
                        DMatrixRMaj b = ejml(bs.get(k));
                        DMatrixRMaj c = new DMatrixRMaj(shapes[k][0], shapes[k][2]);
                        if (ta && tb) {
                            CommonOps_DDRM.multTransAB(a, b, c);
                        } else if (ta) {
                            CommonOps_DDRM.multTransA(a, b, c);
                        } else if (tb) {
                            CommonOps_DDRM.multTransB(a, b, c);
                        } else {
                            CommonOps_DDRM.mult(a, b, c);
                        }
                        assertTrue(relativeError(c, cs.get(k)) < tolerance(p),
                                p + " ta=" + ta + " tb=" + tb + " shape " + k + ": " + relativeError(c, cs.get(k)));
                    }
                }
            }
        }
    }

    @Test
    void gramOfColumnsEqualsEjmlsTransposeProductAndIsExactlySymmetric() {
        Random rng = new Random(11);
        for (Precision p : Precision.values()) {
            // tall like stacked bases, square, wide, one column, one row
            int[][] shapes = {{200, 24}, {9, 9}, {3, 8}, {50, 1}, {1, 6}};
            List<Matrix> as = new ArrayList<>();
            for (int[] s : shapes) {
                as.add(random(rng, s[0], s[1]));
            }
            List<Matrix> gs = backend.gramOfColumns(as, p);
            assertEquals(shapes.length, gs.size());
            for (int k = 0; k < shapes.length; k++) {
                Matrix g = gs.get(k);
                int n = shapes[k][1];
                assertEquals(n, g.rows());
                assertEquals(n, g.cols());
                DMatrixRMaj a = ejml(as.get(k));
                DMatrixRMaj c = new DMatrixRMaj(n, n);
                CommonOps_DDRM.multTransA(a, a, c);
                assertTrue(relativeError(c, g) < tolerance(p), p + " shape " + k + ": " + relativeError(c, g));
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        assertEquals(g.get(i, j), g.get(j, i), 0.0, p + " shape " + k + " (" + i + ", " + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void luSolvesEqualEjmlsAndTheFactorsAreReusable() {
        Random rng = new Random(2);
        for (Precision p : Precision.values()) {
            List<Matrix> as = List.of(random(rng, 1, 1), random(rng, 12, 12), random(rng, 150, 150));
            List<Matrix> rhs1 = List.of(random(rng, 1, 2), random(rng, 12, 3), random(rng, 150, 8));
            List<Matrix> rhs2 = List.of(random(rng, 1, 1), random(rng, 12, 5), random(rng, 150, 1));
            List<LuFactors> lu = backend.lu(as, p);
            for (List<Matrix> rhs : List.of(rhs1, rhs2)) {
                List<Matrix> xs = backend.luSolve(lu, rhs);
                List<Matrix> direct = backend.solveSquare(as, rhs, p);
                for (int k = 0; k < as.size(); k++) {
                    DMatrixRMaj x = new DMatrixRMaj(rhs.get(k).rows(), rhs.get(k).cols());
                    assertTrue(CommonOps_DDRM.solve(ejml(as.get(k)), ejml(rhs.get(k)), x));
                    // the forward error bound: cond(A) * tolerance; these random matrices have cond below 1e4
                    assertTrue(relativeError(x, xs.get(k)) < 1e4 * tolerance(p) * (p == Precision.FP64 ? 1 : 1e-2),
                            p + " problem " + k + ": " + relativeError(x, xs.get(k)));
                    assertTrue(relativeError(x, direct.get(k)) < 1e4 * tolerance(p) * (p == Precision.FP64 ? 1 : 1e-2),
                            p + " solveSquare, problem " + k);
                }
            }
        }
    }

    @Test
    void aKnownSystemIsSolvedExactly() {
        // A = [[2, 1], [1, 3]], b = [3, 5]: x = [0.8, 1.4]
        Matrix a = Matrix.fromRowMajor(2, 2, new double[] {2, 1, 1, 3});
        Matrix b = new Matrix(2, 1, new double[] {3, 5});
        Matrix x = backend.solveSquare(List.of(a), List.of(b), Precision.FP64).get(0);
        assertEquals(0.8, x.get(0, 0), 1e-15);
        assertEquals(1.4, x.get(1, 0), 1e-15);
    }

    @Test
    void anExactlySingularMatrixIsReportedAsSuch() {
        Matrix singular = Matrix.fromRowMajor(3, 3, new double[] {1, 2, 3, 2, 4, 6, 1, 0, 1});
        assertThrows(SingularMatrixException.class, () -> backend.lu(List.of(singular), Precision.FP64));
    }

    @Test
    void svdEqualsEjmlsSingularValuesAndItsFactorsReconstruct() {
        Random rng = new Random(3);
        for (Precision p : Precision.values()) {
            List<Matrix> ms = List.of(random(rng, 40, 40), random(rng, 96, 20), random(rng, 20, 96), random(rng, 1, 5));
            List<Svd> withVectors = backend.svd(ms, true, p);
            List<Svd> valuesOnly = backend.svd(ms, false, p);
            for (int k = 0; k < ms.size(); k++) {
                Matrix m = ms.get(k);
                double[] expected = SingularOps_DDRM.singularValues(ejml(m));
                java.util.Arrays.sort(expected);
                double[] s = withVectors.get(k).s();
                assertEquals(Math.min(m.rows(), m.cols()), s.length);
                for (int i = 0; i < s.length; i++) {
                    double e = expected[expected.length - 1 - i];
                    assertEquals(e, s[i], tolerance(p) * expected[expected.length - 1], p + " problem " + k + " s" + i);
                    assertEquals(s[i], valuesOnly.get(k).s()[i], tolerance(p) * s[0]);
                }
                Svd svd = withVectors.get(k);
                assertNull(valuesOnly.get(k).u());
                // U diag(s) V^T = M, and U, V have orthonormal columns
                Matrix us = svd.u().copy();
                for (int j = 0; j < s.length; j++) {
                    for (int i = 0; i < us.rows(); i++) {
                        us.set(i, j, us.get(i, j) * s[j]);
                    }
                }
                Matrix back = backend.gemm(List.of(us), false, List.of(svd.vt()), false, Precision.FP64).get(0);
                assertTrue(relativeError(ejml(m), back) < tolerance(p), p + " reconstruction, problem " + k);
                assertOrthonormalColumns(svd.u(), tolerance(p));
                assertOrthonormalColumns(svd.vt().transpose(), tolerance(p));
            }
        }
    }

    @Test
    void knownSingularValuesAreFound() {
        // diag(5, 3, 1) rotated by orthogonal matrices keeps its singular values
        Matrix q = backend.orthonormalBasis(List.of(random(new Random(4), 3, 3)), Precision.FP64).get(0);
        Matrix d = Matrix.fromRowMajor(3, 3, new double[] {5, 0, 0, 0, 3, 0, 0, 0, 1});
        Matrix qd = backend.gemm(List.of(q), false, List.of(d), false, Precision.FP64).get(0);
        Matrix m = backend.gemm(List.of(qd), false, List.of(q), true, Precision.FP64).get(0);
        double[] s = backend.svd(List.of(m), false, Precision.FP64).get(0).s();
        assertArrayEquals(new double[] {5, 3, 1}, s, 1e-13);
    }

    @Test
    void orthonormalBasisSpansItsMatrix() {
        Random rng = new Random(5);
        for (Precision p : Precision.values()) {
            List<Matrix> ms = List.of(random(rng, 50, 8), random(rng, 8, 8), random(rng, 300, 40));
            List<Matrix> qs = backend.orthonormalBasis(ms, p);
            for (int k = 0; k < ms.size(); k++) {
                Matrix q = qs.get(k);
                assertEquals(ms.get(k).rows(), q.rows());
                assertEquals(ms.get(k).cols(), q.cols());
                assertOrthonormalColumns(q, tolerance(p));
                // M = Q (Q^T M): the columns of M lie in the span of Q
                Matrix qtm = backend.gemm(List.of(q), true, List.of(ms.get(k)), false, Precision.FP64).get(0);
                Matrix back = backend.gemm(List.of(q), false, List.of(qtm), false, Precision.FP64).get(0);
                assertTrue(relativeError(ejml(ms.get(k)), back) < tolerance(p), p + " span, problem " + k);
            }
        }
    }

    /** U diag(s) V^T with s from 1 down to 1 / cond, log-spaced, U and V random orthogonal. */
    static Matrix conditioned(LinalgBackend backend, Random rng, int n, double cond) {
        Matrix u = backend.orthonormalBasis(List.of(random(rng, n, n)), Precision.FP64).get(0);
        Matrix v = backend.orthonormalBasis(List.of(random(rng, n, n)), Precision.FP64).get(0);
        Matrix us = u.copy();
        for (int j = 0; j < n; j++) {
            double s = Math.pow(cond, -j / (double) (n - 1));
            for (int i = 0; i < n; i++) {
                us.set(i, j, us.get(i, j) * s);
            }
        }
        return backend.gemm(List.of(us), false, List.of(v), true, Precision.FP64).get(0);
    }

    @Test
    void theConditionEstimateIsWithinAFactorOfTheTruth() {
        Random rng = new Random(6);
        for (double target : new double[] {1e2, 1e6, 1e10}) {
            int n = 30;
            Matrix a = conditioned(backend, rng, n, target);
            DMatrixRMaj inv = new DMatrixRMaj(n, n);
            assertTrue(CommonOps_DDRM.invert(ejml(a), inv));
            double oneNorm = ConditionEstimate.oneNorm(a);
            double truth = oneNorm * NormOps_DDRM.normP1(inv);
            double estimate = backend.conditionEstimate(backend.lu(List.of(a), Precision.FP64).get(0), oneNorm);
            // Hager/Higham's estimator never overestimates and is rarely off by more than a factor of 3
            assertTrue(estimate <= truth * (1 + 1e-6) && estimate >= truth / 10,
                    "cond_1 " + truth + ", estimated " + estimate);
        }
    }

    @Test
    void cond2ByLanczosMatchesTheSingularValuesOfEjml() {
        Random rng = new Random(9);
        List<Matrix> as = new ArrayList<>();
        for (double target : new double[] {1e2, 1e6, 1e10}) {
            as.add(conditioned(backend, rng, 40, target));
        }
        as.add(random(rng, 70, 70));
        List<LuFactors> lus = backend.lu(as, Precision.FP64);
        List<LanczosCondition.Result> found = backend.lanczosCondition(as, lus, 1e-6, new long[] {1, 2, 3, 4});
        for (int k = 0; k < as.size(); k++) {
            double[] s = SingularOps_DDRM.singularValues(ejml(as.get(k)));
            java.util.Arrays.sort(s);
            double sMax = s[s.length - 1];
            double sMin = s[0];
            // EJML's own s_min carries an error of about eps * s_max
            double tol = Math.max(1e-6, 1e-14 * sMax / sMin);
            assertEquals(sMax, found.get(k).sMax(), 1e-6 * sMax, "s_max, problem " + k);
            assertEquals(sMin, found.get(k).sMin(), tol * sMin, "s_min, problem " + k);
        }
        // gecon's estimates of the same matrices, in one batch, are the one-at-a-time estimates
        double[] norms = as.stream().mapToDouble(ConditionEstimate::oneNorm).toArray();
        double[] batched = backend.conditionEstimates(lus, norms);
        for (int k = 0; k < as.size(); k++) {
            assertEquals(backend.conditionEstimate(lus.get(k), norms[k]), batched[k], 0, "gecon, problem " + k);
            double cond2 = found.get(k).condition();
            // cond_1 and cond_2 are within a factor n of each other, and the estimate within 3 of cond_1
            assertTrue(batched[k] >= cond2 / as.get(k).rows() / 3 && batched[k] <= cond2 * as.get(k).rows(),
                    "gecon " + batched[k] + " against cond_2 " + cond2);
        }
    }

    @Test
    void wrongArgumentsAreRefusedBeforeAnyNativeCall() {
        Matrix sq = new Matrix(3, 3, new double[9]);
        Matrix rect = new Matrix(3, 4, new double[12]);
        List<Executable> calls = List.of(
                () -> backend.lu(List.of(rect), Precision.FP64),
                () -> backend.gemm(List.of(sq), false, List.of(rect, rect), false, Precision.FP64),
                () -> backend.gemm(List.of(rect), false, List.of(rect), false, Precision.FP64),
                () -> backend.solveSquare(List.of(sq), List.of(new Matrix(4, 1, new double[4])), Precision.FP64),
                () -> backend.solveSquare(List.of(sq, sq), List.of(new Matrix(3, 1, new double[3])), Precision.FP64),
                () -> backend.orthonormalBasis(List.of(new Matrix(2, 5, new double[10])), Precision.FP64),
                () -> backend.gemm(java.util.Arrays.asList((Matrix) null), false, List.of(sq), false, Precision.FP64),
                () -> backend.gramOfColumns(java.util.Arrays.asList((Matrix) null), Precision.FP64),
                () -> backend.lanczosCondition(List.of(rect), List.of(backend.lu(List.of(Matrix.identity(3)),
                        Precision.FP64).get(0)), 1e-6, new long[] {1}),
                () -> backend.lanczosCondition(List.of(Matrix.identity(3)), List.of(backend.lu(
                        List.of(Matrix.identity(3)), Precision.FP32).get(0)), 1e-6, new long[] {1}),
                () -> backend.lanczosCondition(List.of(Matrix.identity(3)), List.of(backend.lu(
                        List.of(Matrix.identity(3)), Precision.FP64).get(0)), 1e-6, new long[] {1, 2}),
                () -> backend.lanczosCondition(List.of(Matrix.identity(3)), List.of(backend.lu(
                        List.of(Matrix.identity(3)), Precision.FP64).get(0)), 0, new long[] {1}),
                () -> backend.conditionEstimates(List.of(backend.lu(List.of(Matrix.identity(3)), Precision.FP64)
                        .get(0)), new double[] {1, 1}),
                () -> backend.conditionEstimates(List.of(backend.lu(List.of(Matrix.identity(3)), Precision.FP64)
                        .get(0)), new double[] {Double.NaN}));
        for (int k = 0; k < calls.size(); k++) {
            Executable call = calls.get(k);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run, "call " + k);
            assertNotNull(e.getMessage(), "call " + k);
        }
        Matrix a = Matrix.fromRowMajor(2, 2, new double[] {2, 1, 1, 3});
        LuFactors lu = backend.lu(List.of(a), Precision.FP64).get(0);
        assertThrows(IllegalArgumentException.class,
                () -> backend.luSolve(List.of(lu), List.of(new Matrix(3, 1, new double[3]))));
        // empty batches are empty answers, not errors
        assertEquals(List.of(), backend.gemm(List.of(), false, List.of(), false, Precision.FP64));
    }

    /** A call that may throw anything. */
    @FunctionalInterface
    protected interface Executable {
        void run();
    }

    private static void assertOrthonormalColumns(Matrix q, double tol) {
        DMatrixRMaj e = ejml(q);
        DMatrixRMaj qtq = new DMatrixRMaj(q.cols(), q.cols());
        CommonOps_DDRM.multTransA(e, e, qtq);
        for (int i = 0; i < q.cols(); i++) {
            for (int j = 0; j < q.cols(); j++) {
                assertEquals(i == j ? 1 : 0, qtq.get(i, j), tol, "Q^T Q at " + i + "," + j);
            }
        }
    }
}
