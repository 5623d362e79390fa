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

    /** U diag(s) V^T with s from 1 down to 1/cond, log-spaced, U and V random orthogonal. */
    static Matrix conditioned(Random rng, int n, double cond) {
        Matrix u = BACKEND.orthonormalBasis(List.of(LinalgBackendContract.random(rng, n, n)), Precision.FP64).get(0);
        Matrix v = BACKEND.orthonormalBasis(List.of(LinalgBackendContract.random(rng, n, n)), Precision.FP64).get(0);
        Matrix us = u.copy();
        for (int j = 0; j < n; j++) {
            double s = Math.pow(cond, -j / (double) (n - 1));
            for (int i = 0; i < n; i++) {
                us.set(i, j, us.get(i, j) * s);
            }
        }
        return BACKEND.gemm(List.of(us), false, List.of(v), true, Precision.FP64).get(0);
    }

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
        assertAgreesWithGesdd(conditioned(new Random(2), 150, cond), tol);
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
    void aKnownDiagonalIsFoundExactly() {
        Matrix d = Matrix.fromRowMajor(3, 3, new double[] {4, 0, 0, 0, 2, 0, 0, 0, 0.5});
        LanczosCondition.Result r = LanczosCondition.of(d, BACKEND.lu(List.of(d), Precision.FP64).get(0), 1e-12, 1);
        assertEquals(4, r.sMax(), 1e-12);
        assertEquals(0.5, r.sMin(), 1e-12);
        assertEquals(8, r.condition(), 1e-11);
    }
}
