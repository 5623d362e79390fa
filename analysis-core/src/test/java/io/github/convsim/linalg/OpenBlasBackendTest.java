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
