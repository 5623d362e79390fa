package io.github.convsim.linalg;

import io.github.convsim.CpuBackendTest;
import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.Test;

/** The OpenBLAS backend against EJML, an independent pure-Java implementation. */
class OpenBlasBackendTest extends CpuBackendTest {

    static Matrix random(Random rng, int rows, int cols) {
        return new Matrix(rows, cols, TestData.gaussian(rng, rows * cols));
    }

    /** The thread count follows OpenBLAS's own reading of the environment, never above the processors. */
    @Test
    void threadsFollowTheEnvironmentAsOpenBlasReadsIt() {
        assertEquals(8, OpenBlasBackend.defaultThreads(java.util.Map.of(), 8));
        assertEquals(1, OpenBlasBackend.defaultThreads(java.util.Map.of("OMP_NUM_THREADS", "1"), 8));
        assertEquals(3, OpenBlasBackend.defaultThreads(java.util.Map.of("OPENBLAS_NUM_THREADS", "3",
                "GOTO_NUM_THREADS", "2", "OMP_NUM_THREADS", "1"), 8));
        assertEquals(2, OpenBlasBackend.defaultThreads(java.util.Map.of("OPENBLAS_NUM_THREADS", "0",
                "GOTO_NUM_THREADS", " 2 ", "OMP_NUM_THREADS", "1"), 8), "0 and blanks as OpenBLAS's atoi reads them");
        assertEquals(1, OpenBlasBackend.defaultThreads(java.util.Map.of("OPENBLAS_NUM_THREADS", "four",
                "OMP_NUM_THREADS", "1"), 8), "not a number: the next variable");
        assertEquals(8, OpenBlasBackend.defaultThreads(java.util.Map.of("OMP_NUM_THREADS", "64"), 8),
                "never more than the processors");
        assertEquals(8, OpenBlasBackend.defaultThreads(java.util.Map.of("OMP_NUM_THREADS", "99999999999"), 8));
    }

    static void assertClose(DMatrixRMaj expected, Matrix actual, double tol) {
        assertEquals(expected.numRows, actual.rows());
        assertEquals(expected.numCols, actual.cols());
        double scale = CommonOps_DDRM.elementMaxAbs(expected);
        for (int i = 0; i < actual.rows(); i++) {
            for (int j = 0; j < actual.cols(); j++) {
                assertEquals(expected.get(i, j), actual.get(i, j), tol * Math.max(1, scale), "(" + i + "," + j + ")");
            }
        }
    }

    /**
     * On one thread (a machine or container with one CPU) a batch is every problem, one after another: the backend
     * once ran only the first, and its self-check then failed on every one-CPU machine.
     */
    @Test
    void aOneThreadBackendComputesEveryProblemOfABatch() {
        Random rng = new Random(5);
        List<Matrix> a = List.of(random(rng, 40, 40), random(rng, 41, 41), random(rng, 42, 42));
        List<Matrix> b = List.of(random(rng, 40, 2), random(rng, 41, 2), random(rng, 42, 2));
        try (OpenBlasBackend one = new OpenBlasBackend(1)) {
            List<Matrix> x = one.luSolve(one.lu(a, Precision.FP64), b);
            List<Matrix> products = one.gemm(a, false, x, false, Precision.FP64);
            assertEquals(3, x.size());
            for (int k = 0; k < 3; k++) {
                assertEquals(40 + k, x.get(k).rows());
                for (int i = 0; i < b.get(k).data().length; i++) {
                    assertEquals(b.get(k).data()[i], products.get(k).data()[i], 1e-10, "problem " + k);
                }
            }
            assertEquals(3, one.svd(a, false, Precision.FP64).size());
            assertEquals(3, one.gramOfColumns(a, Precision.FP32).size());
            SelfCheck.Report check = one.selfCheck();
            assertTrue(check.passed(), check.toString());
        }
    }

    @Test
    void luSolveMatchesEjmlInBothPrecisions() {
        Random rng = new Random(1);
        List<Matrix> a = List.of(random(rng, 50, 50), random(rng, 7, 7), random(rng, 120, 120));
        List<Matrix> b = List.of(random(rng, 50, 3), random(rng, 7, 1), random(rng, 120, 9));
        List<Matrix> x = backend.luSolve(backend.lu(a, Precision.FP64), b);
        List<Matrix> x32 = backend.luSolve(backend.lu(a, Precision.FP32), b);
        for (int k = 0; k < a.size(); k++) {
            DMatrixRMaj expected = new DMatrixRMaj(1, 1);
            assertTrue(CommonOps_DDRM.solve(ejml(a.get(k)), ejml(b.get(k)), expected));
            assertClose(expected, x.get(k), 1e-10);
            assertClose(expected, x32.get(k), 1e-2);
        }
    }

    /**
     * The thin SVD of a tall matrix, taken step by step as dgesdd takes it (QR, the SVD of R, Q U_R), equals LAPACKE's
     * dgesdd on the same matrix: the same singular values and vectors, bit for bit or to rounding, at the shapes the
     * W0 null and the planted controls have, at the threshold 11/6 and far above it (bit for bit on the machines
     * measured; the tolerances allow for a BLAS whose threaded product rounds differently).
     */
    @Test
    void thinSvdOfATallMatrixIsDgesdds() {
        Random rng = new Random(22);
        int[][] shapes = {{768, 8}, {4096, 16}, {96, 40}, {11, 6}, {300, 1}, {2000, 64}};
        for (int[] shape : shapes) {
            int m = shape[0];
            int n = shape[1];
            Matrix a = random(rng, m, n);
            Svd got = backend.svd(List.of(a), true, Precision.FP64).get(0);
            double[] work = a.data().clone();
            double[] s = new double[n];
            double[] u = new double[m * n];
            double[] vt = new double[n * n];
            assertEquals(0, org.bytedeco.openblas.global.openblas.LAPACKE_dgesdd(
                    org.bytedeco.openblas.global.openblas.LAPACK_COL_MAJOR, (byte) 'S', m, n, work, m, s, u, m, vt, n));
            String what = m + " x " + n;
            assertArrayEquals(s, got.s(), 1e-14 * s[0], what);
            // singular vectors to rounding, the sign of each pair included (the same algorithm, not just any SVD)
            assertArrayEquals(u, got.u().data(), 1e-13, what);
            assertArrayEquals(vt, got.vt().data(), 1e-13, what);
        }
        Matrix nan = random(rng, 768, 8);
        nan.data()[100] = Double.NaN;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> backend.svd(List.of(nan), true, Precision.FP64));
        assertTrue(e.getMessage().contains("rejected argument"), e.getMessage());
    }

    /**
     * fp32 factors and solutions pass to OpenBLAS and back a chunk at a time (64Ki values): across several chunks they
     * are bit for bit those of LAPACKE called on whole fp32 arrays.
     */
    @Test
    void fp32FactorsAndSolutionsCrossChunksUnchanged() {
        Random rng = new Random(21);
        int n = 300;
        Matrix a = random(rng, n, n);
        Matrix b = random(rng, n, 250);
        LuFactors lu = backend.lu(List.of(a), Precision.FP32).get(0);
        Matrix x = backend.luSolve(List.of(lu), List.of(b)).get(0);
        float[] f = OpenBlasBackend.toFloat(a.data());
        int[] piv = new int[n];
        assertEquals(0, org.bytedeco.openblas.global.openblas.LAPACKE_sgetrf(
                org.bytedeco.openblas.global.openblas.LAPACK_COL_MAJOR, n, n, f, n, piv));
        assertArrayEquals(OpenBlasBackend.toDouble(f), lu.packed().data(), 0.0);
        assertArrayEquals(piv, lu.pivots());
        float[] fx = OpenBlasBackend.toFloat(b.data());
        assertEquals(0, org.bytedeco.openblas.global.openblas.LAPACKE_sgetrs(
                org.bytedeco.openblas.global.openblas.LAPACK_COL_MAJOR, (byte) 'N', n, b.cols(), f, n, piv, fx, n));
        assertArrayEquals(OpenBlasBackend.toDouble(fx), x.data(), 0.0);
        assertTrue(n * n > 1 << 16 && b.data().length > 1 << 16, "the test must cross a chunk");
    }

    /**
     * Factors are kept in native memory between solves (at most 2 x threads of them): solving with 12 factorisations in
     * turn, in batches from 4 threads, more of them than are kept, gives what a fresh backend gives for each, bit for bit.
     */
    @Test
    void factorsKeptBetweenSolvesGiveTheSameAnswersFromManyThreads() throws Exception {
        sameAnswersFromManyThreads(backend);
    }

    /** Where native memory is short, factors are copied for each call instead: the same answers, the same refusals. */
    @Test
    void factorsCopiedForEachCallGiveTheSameAnswers() throws Exception {
        try (OpenBlasBackend copying = new OpenBlasBackend(2, 2e9, false)) {
            sameAnswersFromManyThreads(copying);
            nanIsRefused(copying);
            List<Matrix> as = List.of(random(new Random(12), 90, 90), random(new Random(13), 40, 40));
            List<LuFactors> lus = backend.lu(as, Precision.FP64);
            double[] norms = as.stream().mapToDouble(ConditionEstimate::oneNorm).toArray();
            assertArrayEquals(backend.conditionEstimates(lus, norms), copying.conditionEstimates(lus, norms), 0.0);
            assertEquals(backend.lanczosCondition(as, lus, 1e-6, new long[] {1, 2}),
                    copying.lanczosCondition(as, lus, 1e-6, new long[] {1, 2}));
        }
    }

    private static void sameAnswersFromManyThreads(OpenBlasBackend backend) throws Exception {
        Random rng = new Random(11);
        List<Matrix> as = new java.util.ArrayList<>();
        List<Matrix> bs = new java.util.ArrayList<>();
        for (int k = 0; k < 12; k++) {
            as.add(random(rng, 60 + k, 60 + k));
            bs.add(random(rng, 60 + k, 5));
        }
        List<LuFactors> lus = backend.lu(as, Precision.FP64);
        List<LuFactors> lus32 = backend.lu(as, Precision.FP32);
        List<Matrix> expected = new java.util.ArrayList<>();
        List<Matrix> expected32 = new java.util.ArrayList<>();
        try (OpenBlasBackend fresh = new OpenBlasBackend(1)) {
            for (int k = 0; k < as.size(); k++) {
                expected.add(fresh.luSolve(List.of(lus.get(k)), List.of(bs.get(k))).get(0));
                expected32.add(fresh.luSolve(List.of(lus32.get(k)), List.of(bs.get(k))).get(0));
            }
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                runs.add(pool.submit(() -> {
                    Random order = new Random(seed);
                    for (int i = 0; i < 30; i++) {
                        // a batch of 6 (its problems run in parallel), the same factors possibly twice in it
                        int[] ks = order.ints(6, 0, as.size()).toArray();
                        boolean[] single = new boolean[ks.length];
                        List<LuFactors> f = new java.util.ArrayList<>();
                        List<Matrix> b = new java.util.ArrayList<>();
                        for (int j = 0; j < ks.length; j++) {
                            single[j] = order.nextBoolean();
                            f.add((single[j] ? lus32 : lus).get(ks[j]));
                            b.add(bs.get(ks[j]));
                        }
                        List<Matrix> x = backend.luSolve(f, b);
                        for (int j = 0; j < ks.length; j++) {
                            assertArrayEquals((single[j] ? expected32 : expected).get(ks[j]).data(), x.get(j).data(),
                                    "factorisation " + ks[j] + (single[j] ? " fp32" : " fp64") + ", batch " + i);
                        }
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> r : runs) {
                r.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aNaNInFactorsOrRightHandSideIsRefusedAsLapackeRefusedIt() {
        nanIsRefused(backend);
    }

    private static void nanIsRefused(OpenBlasBackend backend) {
        Matrix a = Matrix.fromRowMajor(2, 2, new double[] {2, 1, 1, 3});
        LuFactors lu = backend.lu(List.of(a), Precision.FP64).get(0);
        Matrix nanRhs = new Matrix(2, 1, new double[] {1, Double.NaN});
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> backend.luSolve(List.of(lu), List.of(nanRhs)));
        assertTrue(e.getMessage().contains("getrs rejected argument 8"), e.getMessage());
        LuFactors nanFactors = new LuFactors(new Matrix(2, 2, new double[] {2, Double.NaN, 1, 3}), new int[] {1, 2},
                Precision.FP64);
        e = assertThrows(IllegalStateException.class,
                () -> backend.luSolve(List.of(nanFactors), List.of(new Matrix(2, 1, new double[] {1, 1}))));
        assertTrue(e.getMessage().contains("getrs rejected argument 5"), e.getMessage());
        // the refused factors were not kept: a second call is refused again, not solved with a stale copy
        assertThrows(IllegalStateException.class,
                () -> backend.luSolve(List.of(nanFactors), List.of(new Matrix(2, 1, new double[] {1, 1}))));
        // the cond routines name themselves and the argument their factors are: gecon's A, dtrsv's A
        e = assertThrows(IllegalStateException.class,
                () -> backend.conditionEstimates(List.of(nanFactors), new double[] {4}));
        assertTrue(e.getMessage().contains("gecon rejected argument 4"), e.getMessage());
        e = assertThrows(IllegalStateException.class,
                () -> backend.lanczosCondition(List.of(a), List.of(nanFactors), 1e-6, new long[] {1}));
        assertTrue(e.getMessage().contains("trsv rejected argument 6"), e.getMessage());
    }

    @Test
    void exactlySingularMatrixIsReported() {
        Matrix s = new Matrix(2, 2, new double[] {1, 2, 2, 4});
        SingularMatrixException e = assertThrows(SingularMatrixException.class,
                () -> backend.lu(List.of(s), Precision.FP64));
        assertEquals(2, e.index());
    }

    @Test
    void singularValuesAndVectorsMatchEjml() {
        Random rng = new Random(2);
        for (int[] shape : new int[][] {{40, 40}, {60, 8}, {8, 60}}) {
            Matrix a = random(rng, shape[0], shape[1]);
            Svd svd = backend.svd(List.of(a), true, Precision.FP64).get(0);
            Svd values = backend.svd(List.of(a), false, Precision.FP64).get(0);
            SingularValueDecomposition_F64<DMatrixRMaj> ref = DecompositionFactory_DDRM.svd(true, true, true);
            assertTrue(ref.decompose(ejml(a)));
            double[] s = ref.getSingularValues().clone();
            java.util.Arrays.sort(s);
            for (int k = 0; k < svd.s().length; k++) {
                assertEquals(s[s.length - 1 - k], svd.s()[k], 1e-12 * s[s.length - 1]);
                assertEquals(svd.s()[k], values.s()[k], 1e-12 * s[s.length - 1]);
            }
            assertNull(values.u());
            // U diag(s) V^T reconstructs A
            Matrix us = svd.u().copy();
            for (int j = 0; j < us.cols(); j++) {
                for (int i = 0; i < us.rows(); i++) {
                    us.set(i, j, us.get(i, j) * svd.s()[j]);
                }
            }
            Matrix back = backend.gemm(List.of(us), false, List.of(svd.vt()), false, Precision.FP64).get(0);
            assertClose(ejml(a), back, 1e-12);
        }
    }

    @Test
    void gemmWithTransposesMatchesEjml() {
        Random rng = new Random(3);
        Matrix a = random(rng, 13, 7);
        Matrix b = random(rng, 13, 5);
        DMatrixRMaj expected = new DMatrixRMaj(7, 5);
        CommonOps_DDRM.multTransA(ejml(a), ejml(b), expected);
        assertClose(expected, backend.gemm(List.of(a), true, List.of(b), false, Precision.FP64).get(0), 1e-13);
        DMatrixRMaj e2 = new DMatrixRMaj(13, 13);
        CommonOps_DDRM.multTransB(ejml(a), ejml(a), e2);
        assertClose(e2, backend.gemm(List.of(a), false, List.of(a), true, Precision.FP32).get(0), 1e-5);
    }

    @Test
    void orthonormalBasisSpansTheColumns() {
        Random rng = new Random(4);
        Matrix a = random(rng, 30, 4);
        Matrix q = backend.orthonormalBasis(List.of(a), Precision.FP64).get(0);
        Matrix qtq = backend.gemm(List.of(q), true, List.of(q), false, Precision.FP64).get(0);
        assertClose(ejml(Matrix.identity(4)), qtq, 1e-14);
        // projecting A onto span(Q) leaves it unchanged: Q Q^T A = A
        Matrix qta = backend.gemm(List.of(q), true, List.of(a), false, Precision.FP64).get(0);
        Matrix proj = backend.gemm(List.of(q), false, List.of(qta), false, Precision.FP64).get(0);
        assertClose(ejml(a), proj, 1e-13);
    }

    @Test
    void largeLoneProblemUsesThreadedBlasAndAgreesWithBatched() {
        Random rng = new Random(5);
        Matrix a = random(rng, 1100, 1100);
        Matrix b = random(rng, 1100, 4);
        Matrix lone = backend.luSolve(backend.lu(List.of(a), Precision.FP64), List.of(b)).get(0);
        Matrix batched = backend.luSolve(backend.lu(List.of(a, a), Precision.FP64), List.of(b, b)).get(1);
        for (int i = 0; i < lone.data().length; i++) {
            assertEquals(batched.data()[i], lone.data()[i], 1e-9 * Math.max(1, Math.abs(lone.data()[i])));
        }
    }
}
