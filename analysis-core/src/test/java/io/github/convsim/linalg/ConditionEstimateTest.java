package io.github.convsim.linalg;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The plain-Java estimate (for backends without OpenBLAS) against LAPACK's dgecon on the same factors. */
class ConditionEstimateTest {
    private static OpenBlasBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new OpenBlasBackend();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    private static void assertSameAsLapack(Matrix a, String what) {
        LuFactors lu = cpu.lu(List.of(a), Precision.FP64).get(0);
        double norm = ConditionEstimate.oneNorm(a);
        double lapack = ConditionEstimate.fromLu(lu, norm);
        double java = ConditionEstimate.fromLuInJava(lu, norm);
        assertEquals(lapack, java, lapack * 1e-12, what);
    }

    @Test
    void equalsLapackOnRandomMatrices() {
        Random rng = new Random(41);
        for (int n : new int[] {2, 3, 7, 50, 200, 768}) {
            assertSameAsLapack(LinalgBackendContract.random(rng, n, n), "n = " + n);
        }
    }

    @Test
    void equalsLapackOnIllConditionedMatrices() {
        Random rng = new Random(43);
        for (double cond : new double[] {1e3, 1e8, 1e12, 1e15}) {
            assertSameAsLapack(LinalgBackendContract.conditioned(cpu, rng, 120, cond), "cond " + cond);
        }
    }

    @Test
    void equalsLapackOnTheEdges() {
        assertSameAsLapack(new Matrix(1, 1, new double[] {-4}), "1 x 1");
        Matrix diagonal = Matrix.identity(5);
        diagonal.set(3, 3, 1e-9);
        assertSameAsLapack(diagonal, "diagonal");
        // a matrix whose factors hold an exact zero pivot is singular: both say infinity
        Matrix singular = new Matrix(2, 2, new double[] {1, 2, 2, 4});
        LuFactors lu = new LuFactors(new Matrix(2, 2, new double[] {2, 0.5, 4, 0}), new int[] {2, 2}, Precision.FP64);
        assertEquals(Double.POSITIVE_INFINITY, ConditionEstimate.fromLuInJava(lu, ConditionEstimate.oneNorm(singular)));
        assertTrue(Double.isNaN(ConditionEstimate.fromLuInJava(new LuFactors(Matrix.zeros(0, 0), new int[0],
                Precision.FP64), 0)));
    }
}
