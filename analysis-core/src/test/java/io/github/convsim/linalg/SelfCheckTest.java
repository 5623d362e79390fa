package io.github.convsim.linalg;

import io.github.convsim.CpuBackendTest;
import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.linalg.PerturbedBackend.Routine;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The known-answer self-check passes on the real OpenBLAS and fails, naming the routine, on a backend that is wrong in
 * one routine at the sizes where OpenBLAS 0.3.19's AVX-512 kernels were wrong (n >= 40), in one precision only, or
 * only for batches or lone problems.
 */
class SelfCheckTest extends CpuBackendTest {
    /** The check on a perturbed view of the real backend, lone problems on the same view (no threaded variant). */
    private static SelfCheck.Report check(PerturbedBackend b) {
        return SelfCheck.run(b, null, 2);
    }

    @Test
    void realOpenBlasPassesEveryCase() {
        SelfCheck.Report r = backend.selfCheck();
        assertTrue(r.passed(), r.failures().toString());
        // 8 cases in FP64 (gemm, gemm A^T B, syrk, LU, 2 SVDs, QR, gecon) and 7 in FP32, on parallel callers and
        // threaded
        assertEquals(30, r.cases());
        assertTrue(r.millis() > 0);
        assertTrue(r.worstFractionOfBound() < 0.1, "correct arithmetic far below every bound: " + r.worstFractionOfBound());
    }

    @ParameterizedTest
    @EnumSource(Routine.class)
    void eachPerturbedRoutineIsCaughtAndNamed(Routine routine) {
        SelfCheck.Report r = check(new PerturbedBackend(backend, routine));
        assertFalse(r.passed(), routine + " perturbed, yet the check passed");
        String expected = switch (routine) {
            case GEMM -> "gemm";
            case SYRK -> "syrk";
            case GETRF, GETRS -> "getrf+getrs";
            case GESDD -> "gesdd";
            case ORGQR -> "geqrf+orgqr";
            case GECON -> "dgecon";
        };
        // only the cases that call the routine fail (gecon reads getrf's factors, so it may fail with them)
        assertTrue(r.failures().stream().allMatch(f -> f.contains(expected)
                || routine == Routine.GETRF && f.startsWith("dgecon")), r.failures().toString());
        // and each of them in every mode and precision it runs in
        int modes = routine == Routine.GECON ? 2 : 4;
        int casesPerMode = routine == Routine.GEMM || routine == Routine.GESDD ? 2 : 1;
        assertEquals(modes * casesPerMode, r.failures().stream().filter(f -> f.contains(expected)).count(),
                r.failures().toString());
    }

    @Test
    void aFaultInOnePrecisionOrOneModeIsCaught() {
        SelfCheck.Report fp32Only = check(new PerturbedBackend(backend, Routine.GETRS, 40, Precision.FP32, c -> true));
        assertEquals(2, fp32Only.failures().size(), fp32Only.failures().toString());
        assertTrue(fp32Only.failures().stream().allMatch(f -> f.startsWith("sgetrf+getrs")), fp32Only.failures().toString());

        SelfCheck.Report batchesOnly = check(new PerturbedBackend(backend, Routine.GEMM, 40, null, c -> c > 1));
        assertFalse(batchesOnly.passed());
        assertTrue(batchesOnly.failures().stream().allMatch(f -> f.contains("parallel callers")),
                batchesOnly.failures().toString());

        SelfCheck.Report loneOnly = check(new PerturbedBackend(backend, Routine.ORGQR, 40, null, c -> c == 1));
        assertFalse(loneOnly.passed());
        assertTrue(loneOnly.failures().stream().allMatch(f -> f.contains("one problem")), loneOnly.failures().toString());
    }

    @Test
    void aFaultOnlyWithEveryBlasThreadIsCaught() {
        try (OpenBlasBackend threaded = new OpenBlasBackend(2, 0)) {
            PerturbedBackend wrongWhenThreaded = new PerturbedBackend(threaded, Routine.GETRF);
            SelfCheck.Report r = SelfCheck.run(backend, wrongWhenThreaded, 2);
            assertTrue(r.failures().stream().allMatch(f -> f.contains("all BLAS threads")), r.failures().toString());
            assertEquals(2, r.failures().stream().filter(f -> f.contains("getrf+getrs")).count(),
                    r.failures().toString());
        }
    }

    @Test
    void sensitivityFloors() {
        // FP64 sees a fault of 1e-8 of the largest element in one element of a solve
        SelfCheck.Report fp64 = check(new PerturbedBackend(backend, Routine.GETRS, 40, Precision.FP64, c -> true, 1e-8));
        assertEquals(2, fp64.failures().size(), fp64.failures().toString());
        // FP32, whose rounding is 5e8 times coarser, sees 5 % in one element of a product (1 % is at its bound)
        SelfCheck.Report fp32 = check(new PerturbedBackend(backend, Routine.GEMM, 40, Precision.FP32, c -> true, 0.05));
        assertEquals(4, fp32.failures().size(), fp32.failures().toString());
    }

    @Test
    void aFaultBelowTheCheckedSizesIsOutOfItsReach() {
        // documents the reach: a routine wrong only from n = 1000 on passes the self-check; the solve guard
        // (ConversionSolverGuardTest) is what catches it inside an analysis
        assertTrue(check(new PerturbedBackend(backend, Routine.GETRS, 1000, null, c -> true)).passed());
    }

    @Test
    void backendsRefuseAFailingBackendWithOneLineNamingArithmeticAndWorkaround() {
        OpenBlasBackend inner = new OpenBlasBackend(2);
        ArithmeticCheckException e = assertThrows(ArithmeticCheckException.class,
                () -> Backends.checked(new PerturbedBackend(inner, Routine.GETRF), "test"));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        assertTrue(m.startsWith(OpenBlasIdentity.current().version()), m);
        assertTrue(m.contains(CpuIdentity.current().model()), m);
        assertTrue(m.contains(OpenBlasIdentity.current().core() + " kernels"), m);
        assertTrue(m.contains("dgetrf+getrs n=128"), m);
        assertTrue(m.contains("no analysis was run"), m);
        assertTrue(m.contains("OPENBLAS_CORETYPE="), m);
        // the refused backend was closed: its pool no longer takes work
        assertThrows(RuntimeException.class, () -> inner.gemm(List.of(Matrix.identity(2)), false,
                List.of(Matrix.identity(2)), false, Precision.FP64));
    }

    @Test
    void choiceRecordsTheArithmeticAndTheCheck() {
        Backends.Choice c = Backends.select("cpu");
        try {
            var p = c.provenance();
            assertEquals(CpuIdentity.current().model(), p.get("cpu_model"));
            assertEquals(OpenBlasIdentity.current().core(), p.get("openblas_core"));
            assertTrue(((String) p.get("openblas_version")).startsWith("OpenBLAS 0.3."), p.toString());
            assertNotEquals("unknown", p.get("openblas_core"), "the kernel table in use was identified");
            @SuppressWarnings("unchecked")
            var check = (java.util.Map<String, Object>) p.get("self_check");
            assertEquals(true, check.get("passed"));
            assertEquals(30, check.get("cases"));
        } finally {
            c.backend().close();
        }
    }

    /**
     * A check started ahead is what the next CPU select hands out (its report the same object, its reason the select's
     * own), once: the select after it checks a backend of its own. Both compute.
     */
    @Test
    void aCheckStartedAheadIsTakenByTheNextCpuSelectOnce() {
        Backends.checkCpuAhead();
        Backends.checkCpuAhead();   // one already waiting: nothing more started
        assertTrue(Backends.cpuCheckWaiting());
        try (Backends.Choice first = Backends.select("auto"); Backends.Choice second = Backends.select("cpu")) {
            assertFalse(Backends.cpuCheckWaiting(), "the first select took it");
            assertTrue(first.selfCheck().passed());
            assertTrue(first.reason().startsWith("cpu ("), first.reason());
            assertEquals("cpu requested", second.reason());
            assertNotSame(first.selfCheck(), second.selfCheck(), "the second select ran a check of its own");
            assertNotSame(first.backend(), second.backend());
            Matrix a = new Matrix(2, 2, new double[] {4, 1, 2, 3});
            for (Backends.Choice c : List.of(first, second)) {
                Matrix x = c.backend().solveSquare(List.of(a), List.of(Matrix.identity(2)), Precision.FP64).get(0);
                assertEquals(0.3, x.get(0, 0), 1e-15);
                assertEquals(-0.1, x.get(1, 0), 1e-15);
            }
        }
    }

    @Test
    void gaussJordanInverseIsAnInverse() {
        Matrix a = new Matrix(3, 3, new double[] {2, 0, 1, 1, 3, 0, 0, 1, 4});
        Matrix inv = SelfCheck.gaussJordanInverse(a);
        Matrix id = a.times(inv);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(i == j ? 1 : 0, id.get(i, j), 1e-14);
            }
        }
    }
}
