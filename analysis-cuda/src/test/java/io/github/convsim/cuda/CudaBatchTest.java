package io.github.convsim.cuda;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The batched device path of the CUDA backend: factors kept on the device, batches split to fit a budget, a clear
 * error for a problem larger than the budget. Runs where a GPU is present (as {@link CudaBackendContractTest}); the
 * arithmetic is checked against EJML in fp64.
 */
class CudaBatchTest {
    private static final long MIB = 1L << 20;

    @BeforeEach
    void gpu() {
        Assumptions.assumeTrue(CudaBackendContractTest.gpuHost(), "no GPU on this machine");
    }

    static Matrix gaussian(SplittableRandom rng, int rows, int cols) {
        double[] d = new double[rows * cols];
        for (int i = 0; i < d.length; i++) {
            d[i] = rng.nextGaussian();
        }
        return new Matrix(rows, cols, d);
    }

    /** X with A X = B by EJML (row-major, so the transposes), the reference. */
    static Matrix reference(Matrix a, Matrix b) {
        DMatrixRMaj at = new DMatrixRMaj(a.cols(), a.rows(), true, a.data());
        DMatrixRMaj bt = new DMatrixRMaj(b.cols(), b.rows(), true, b.data());
        DMatrixRMaj ea = new DMatrixRMaj(a.rows(), a.cols());
        DMatrixRMaj eb = new DMatrixRMaj(b.rows(), b.cols());
        CommonOps_DDRM.transpose(at, ea);
        CommonOps_DDRM.transpose(bt, eb);
        DMatrixRMaj x = new DMatrixRMaj(a.cols(), b.cols());
        assertTrue(CommonOps_DDRM.solve(ea, eb, x));
        DMatrixRMaj xt = new DMatrixRMaj(x.numCols, x.numRows);
        CommonOps_DDRM.transpose(x, xt);
        return new Matrix(b.rows(), b.cols(), xt.data);
    }

    static double relativeDifference(Matrix x, Matrix y) {
        double d = 0;
        double n = 0;
        for (int i = 0; i < x.data().length; i++) {
            d += (x.data()[i] - y.data()[i]) * (x.data()[i] - y.data()[i]);
            n += y.data()[i] * y.data()[i];
        }
        return Math.sqrt(d / n);
    }

    @Test
    void solvesAfterTheFactorisationUseTheFactorsLeftOnTheDevice() {
        SplittableRandom rng = new SplittableRandom(19);
        List<Matrix> a = new ArrayList<>();
        List<Matrix> b = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            a.add(gaussian(rng, 96 + 16 * k, 96 + 16 * k));
            b.add(gaussian(rng, 96 + 16 * k, 5));
        }
        try (CudaBackend cuda = new CudaBackend()) {
            List<LuFactors> lu = cuda.lu(a, Precision.FP64);
            assertEquals(6, cuda.residentFactors()[0], "every factorisation stays on the device");
            List<Matrix> x = cuda.luSolve(lu, b);
            List<Matrix> again = cuda.luSolve(lu, b);
            assertEquals(6, cuda.residentFactors()[0]);
            for (int k = 0; k < 6; k++) {
                assertTrue(relativeDifference(x.get(k), reference(a.get(k), b.get(k))) < 1e-11, "problem " + k);
                assertArrayEquals(x.get(k).data(), again.get(k).data(), "the same factors, the same solution");
            }
            // factors made elsewhere (a cache, another backend) are uploaded once and kept
            LuFactors copied = new LuFactors(new Matrix(lu.get(0).n(), lu.get(0).n(), lu.get(0).packed().data().clone()),
                    lu.get(0).pivots().clone(), Precision.FP64);
            Matrix fromCopy = cuda.luSolve(List.of(copied), List.of(b.get(0))).get(0);
            assertEquals(7, cuda.residentFactors()[0]);
            assertArrayEquals(x.get(0).data(), fromCopy.data());
        }
    }

    @Test
    void aBudgetForAFewProblemsGivesTheSameSolutionsInSmallerChunks() {
        SplittableRandom rng = new SplittableRandom(23);
        int n = 512;
        List<Matrix> a = new ArrayList<>();
        List<Matrix> b = new ArrayList<>();
        for (int k = 0; k < 12; k++) {
            a.add(gaussian(rng, n, n));
            b.add(gaussian(rng, n, 8));
        }
        List<Matrix> whole;
        try (CudaBackend cuda = new CudaBackend()) {
            whole = cuda.solveSquare(a, b, Precision.FP64);
        }
        // one 512 x 512 system needs 2 MiB; 12 MiB also holds the lanes' workspaces, so the batch runs in parts
        try (CudaBackend small = new CudaBackend(12 * MIB)) {
            List<Matrix> parts = small.solveSquare(a, b, Precision.FP64);
            List<LuFactors> lu = small.lu(a, Precision.FP64);
            assertTrue(small.residentFactors()[1] <= 12 * MIB, "resident factors stay within the budget");
            List<Matrix> solved = small.luSolve(lu, b);
            for (int k = 0; k < 12; k++) {
                assertTrue(relativeDifference(parts.get(k), whole.get(k)) < 1e-13, "problem " + k);
                assertTrue(relativeDifference(solved.get(k), whole.get(k)) < 1e-13, "problem " + k);
                assertTrue(relativeDifference(whole.get(k), reference(a.get(k), b.get(k))) < 1e-10, "problem " + k);
            }
        }
    }

    @Test
    void aLayerLargerThanTheBudgetIsAClearError() {
        Matrix a = gaussian(new SplittableRandom(3), 1024, 1024); // 8 MiB
        try (CudaBackend small = new CudaBackend(4 * MIB)) {
            CudaException e = assertThrows(CudaException.class,
                    () -> small.solveSquare(List.of(a), List.of(Matrix.zeros(1024, 1)), Precision.FP64));
            assertTrue(e.getMessage().startsWith("one problem needs 8.0 MiB of GPU memory but the budget is 4.0 MiB"
                    + " (--gpu-memory"), e.getMessage());
        }
    }

    @Test
    void singularBatchesAreReportedAndTheBackendStaysUsable() {
        SplittableRandom rng = new SplittableRandom(5);
        Matrix good = gaussian(rng, 64, 64);
        Matrix singular = Matrix.zeros(64, 64);
        try (CudaBackend cuda = new CudaBackend()) {
            assertThrows(io.github.convsim.linalg.SingularMatrixException.class,
                    () -> cuda.lu(List.of(good, singular), Precision.FP64));
            Matrix b = gaussian(rng, 64, 2);
            Matrix x = cuda.solveSquare(List.of(good), List.of(b), Precision.FP64).get(0);
            assertTrue(relativeDifference(x, reference(good, b)) < 1e-11);
        }
    }

    @Test
    void theConditionEstimateOnTheDeviceIsLapacksIteration() {
        SplittableRandom rng = new SplittableRandom(31);
        List<Matrix> a = new ArrayList<>();
        a.add(gaussian(rng, 300, 300));
        for (double grading : new double[] {1e4, 1e10}) { // columns scaled from 1 down to 1 / grading
            Matrix m = gaussian(rng, 120, 120);
            for (int j = 0; j < 120; j++) {
                for (int i = 0; i < 120; i++) {
                    m.set(i, j, m.get(i, j) * Math.pow(grading, -j / 119.0));
                }
            }
            a.add(m);
        }
        try (CudaBackend cuda = new CudaBackend()) {
            List<LuFactors> lu = cuda.lu(a, Precision.FP64);
            double[] norms = a.stream().mapToDouble(io.github.convsim.linalg.ConditionEstimate::oneNorm).toArray();
            double[] device = cuda.conditionEstimates(lu, norms);
            // factors the device has not seen (a cache's) are uploaded for the solves
            List<LuFactors> copies = lu.stream().map(f -> new LuFactors(new Matrix(f.n(), f.n(),
                    f.packed().data().clone()), f.pivots().clone(), Precision.FP64)).toList();
            double[] uploaded = cuda.conditionEstimates(copies, norms);
            for (int k = 0; k < a.size(); k++) {
                double java = io.github.convsim.linalg.ConditionEstimate.fromLuInJava(lu.get(k), norms[k]);
                assertEquals(java, device[k], java * 1e-10, "problem " + k);
                assertEquals(device[k], uploaded[k], 0, "problem " + k);
            }
        }
    }
}
