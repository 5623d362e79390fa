package io.github.convsim.linalg;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** cond_2 by Lanczos from the LU factors against the singular values of an SVD (LAPACK gesdd, and EJML). */
class LanczosConditionTest {
    static final OpenBlasBackend BACKEND = new OpenBlasBackend(2);

    static void assertAgreesWithGesdd(Matrix a, double tolerance) {
        double[] s = BACKEND.svd(List.of(a), false, Precision.FP64).get(0).s();
        LuFactors lu = BACKEND.lu(List.of(a), Precision.FP64).get(0);
        LanczosCondition.Result r = LanczosCondition.of(a, lu, LanczosCondition.DEFAULT_TOLERANCE, 7);
        double sMax = s[0];
        double sMin = s[s.length - 1];
        assertEquals(sMax, r.sMax(), tolerance * sMax, "s_max");
        assertEquals(sMin, r.sMin(), tolerance * sMin, "s_min");
        assertEquals(sMax / sMin, r.condition(), 2 * tolerance * sMax / sMin, "cond_2");
        assertTrue(r.stepsMax() < a.rows() && r.stepsMin() < a.rows(), "converged before n steps: " + r);
        assertSameIterationNatively(a, lu, r);
    }

    /**
     * OpenBLAS's gemv and trsv in place of the plain-Java operators: the same steps, and the values to rounding (the
     * two sum in different orders).
     */
    static void assertSameIterationNatively(Matrix a, LuFactors lu, LanczosCondition.Result java) {
        LanczosCondition.Result nativeOps = BACKEND.lanczosCondition(List.of(a, a), List.of(lu, lu),
                LanczosCondition.DEFAULT_TOLERANCE, new long[] {7, 8}).get(0);
        assertEquals(java.stepsMax(), nativeOps.stepsMax(), "steps for s_max");
        assertEquals(java.stepsMin(), nativeOps.stepsMin(), "steps for s_min");
        assertEquals(java.sMax(), nativeOps.sMax(), 1e-12 * java.sMax(), "s_max");
        assertEquals(java.sMin(), nativeOps.sMin(), 1e-9 * java.sMin(), "s_min");
    }

    @Test
    void aRandomMatrixAgreesWithItsSvd() {
        assertAgreesWithGesdd(LinalgBackendContract.random(new Random(1), 200, 200), 1e-6);
    }

    @ParameterizedTest(name = "cond {0}")
    @ValueSource(doubles = {1e3, 1e6, 1e9, 1e12})
    void illConditionedMatricesAgreeWithTheirSvd(double cond) {
        // the SVD's own s_min carries an error of about eps * s_max, 1e-4 relative at cond 1e12: the comparison
        // cannot be tighter than that
        double tol = Math.max(1e-6, 1e-16 * cond * 1e2);
        assertAgreesWithGesdd(LinalgBackendContract.conditioned(BACKEND, new Random(2), 150, cond), tol);
    }

    @Test
    void theBundledBertWeightsAgreeWithTheirSvd() throws Exception {
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
            for (LoraModule m : List.of(c.layersOf("query").get(0), c.layersOf("query").get(11),
                    c.layersOf("value").get(5))) {
                assertAgreesWithGesdd(c.baseWeight(m), 1e-6);
            }
        }
    }

    @Test
    void theNativeOperatorsRejectWhatThePlainJavaOnesReject() {
        Matrix a = LinalgBackendContract.random(new Random(3), 4, 4);
        LuFactors fp32 = BACKEND.lu(List.of(a), Precision.FP32).get(0);
        assertThrows(IllegalArgumentException.class, () -> BACKEND.lanczosCondition(List.of(a), List.of(fp32), 1e-6,
                new long[] {1}));
        LuFactors other = BACKEND.lu(List.of(LinalgBackendContract.random(new Random(3), 5, 5)), Precision.FP64).get(0);
        assertThrows(IllegalArgumentException.class, () -> BACKEND.lanczosCondition(List.of(a), List.of(other), 1e-6,
                new long[] {1}));
    }

    @Test
    void aKnownDiagonalIsFoundExactly() {
        Matrix d = Matrix.fromRowMajor(3, 3, new double[] {4, 0, 0, 0, 2, 0, 0, 0, 0.5});
        LanczosCondition.Result r = LanczosCondition.of(d, BACKEND.lu(List.of(d), Precision.FP64).get(0), 1e-12, 1);
        assertEquals(4, r.sMax(), 1e-12);
        assertEquals(0.5, r.sMin(), 1e-12);
        assertEquals(8, r.condition(), 1e-11);
    }
}
