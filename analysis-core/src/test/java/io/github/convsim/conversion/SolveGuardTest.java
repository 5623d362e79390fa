package io.github.convsim.conversion;

import io.github.convsim.CpuBackendTest;
import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.linalg.ArithmeticCheckException;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.PerturbedBackend;
import io.github.convsim.linalg.PerturbedBackend.Routine;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.SelfCheck;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The guard inside every conversion solve: silent on correct arithmetic, even at cond(W0) = 1e8, and stopping the
 * run, with module and layer named, on kernels that go wrong only at sizes beyond the self-check's reach.
 */
class SolveGuardTest extends CpuBackendTest {
    private record Case(List<LoraModule> layers, List<Matrix> w0s, List<Matrix> targets) {}

    private static Case layers(int out, int in, double cond) {
        Random rng = new Random(7);
        List<LoraModule> layers = new ArrayList<>();
        List<Matrix> w0s = new ArrayList<>();
        List<Matrix> targets = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            LoraModule m = ConversionSolverTest.module(rng, l, out, in, 8);
            layers.add(m);
            w0s.add(out == in ? ConversionSolverTest.conditioned(rng, out, cond)
                    : new Matrix(out, in, io.github.convsim.TestData.gaussian(rng, out * in)));
            targets.add(m.b());
        }
        return new Case(layers, w0s, targets);
    }

    private static List<Matrix> solve(LinalgBackend backend, SolveOptions options, Case c) {
        ConversionSolver solver = new ConversionSolver(backend, options);
        return solver.solve(solver.factor(c.layers(), c.w0s()), c.targets(), Equation.W0_X);
    }

    @Test
    void correctArithmeticPassesFarBelowTheBoundEvenIllConditioned() {
        for (SolveOptions o : List.of(SolveOptions.paper(), SolveOptions.paper().withPrecision(Precision.FP32))) {
            ConversionSolver solver = new ConversionSolver(backend, o);
            Case c = layers(300, 300, o.precision() == Precision.FP64 ? 1e8 : 1e3);
            solver.solve(solver.factor(c.layers(), c.w0s()), c.targets(), Equation.W0_X);
            Map<String, Object> g = solver.guardSummary();
            assertEquals(2L, g.get("checks"), "one random combination of the columns for each of two layers");
            assertTrue((double) g.get("worst_error_over_n_eps") < 1, g.toString());
        }
        ConversionSolver lstsq = new ConversionSolver(backend, new SolveOptions(SolveMode.LSTSQ, Precision.FP64, 0, 0,
                ConditionMethod.AUTO));
        Case tall = layers(300, 200, 0);
        lstsq.solve(lstsq.factor(tall.layers(), tall.w0s()), tall.targets(), Equation.W0_X);
        Map<String, Object> g = lstsq.guardSummary();
        assertEquals(4L, g.get("checks"), "the SVD and the solution of each of two layers");
        assertTrue((double) g.get("worst_error_over_n_eps") < 1, g.toString());
    }

    /**
     * An empty system (n = 0, factored without cond as `convsim bench --n 0` did) has backward error 0 in a unit of
     * max(n, 1) eps: it was 0 / 0, judged not finite, and the run stopped blaming OpenBLAS for wrong arithmetic.
     */
    @Test
    void anEmptySystemIsNotWrongArithmetic() {
        List<LoraModule> layers = List.of(ConversionSolverTest.module(new Random(3), 0, 0, 0, 2));
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        List<Matrix> x = solver.solve(solver.factorOnly(layers, List.of(Matrix.zeros(0, 0))),
                List.of(layers.get(0).b()), Equation.W0_X);
        assertEquals(0, x.get(0).rows());
        assertEquals(2, x.get(0).cols());
        assertEquals(1L, solver.guardSummary().get("checks"));
        assertEquals(0.0, (double) solver.guardSummary().get("worst_error_over_n_eps"));
    }

    @Test
    void aSolveWrongOnlyAtLargeSizesPassesTheSelfCheckAndIsStoppedHere() {
        PerturbedBackend wrong = new PerturbedBackend(backend, Routine.GETRS, 256, null, k -> true);
        assertTrue(SelfCheck.run(wrong, null, 2).passed(), "beyond the self-check's sizes");
        ArithmeticCheckException e = assertThrows(ArithmeticCheckException.class,
                () -> solve(wrong, SolveOptions.paper(), layers(300, 300, 1e3)));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        assertTrue(m.contains("computed a solve by LU wrongly for module m layer 0"), m);
        assertTrue(m.contains("n = 300, fp64"), m);
        assertTrue(m.contains("no report was written"), m);
        assertTrue(m.contains("OPENBLAS_CORETYPE="), m);
    }

    @Test
    void wrongFactorsAreCaughtThroughTheirSolves() {
        // the guard's reach (worst-case units, so that no correct run is ever stopped): in FP64 a fault of 1e-6 of the
        // largest element of the factors; in FP32 a fault the size of that element, as a wrong kernel makes
        PerturbedBackend fp64 = new PerturbedBackend(backend, Routine.GETRF, 256, Precision.FP64, k -> true, 1e-6);
        assertThrows(ArithmeticCheckException.class, () -> solve(fp64, SolveOptions.paper(), layers(300, 300, 1e2)));
        PerturbedBackend fp32 = new PerturbedBackend(backend, Routine.GETRF, 256, Precision.FP32, k -> true, 1.0);
        assertThrows(ArithmeticCheckException.class,
                () -> solve(fp32, SolveOptions.paper().withPrecision(Precision.FP32), layers(300, 300, 1e2)));
    }

    @Test
    void aWrongSvdOrProductInTheLeastSquaresModesIsCaught() {
        SolveOptions lstsq = new SolveOptions(SolveMode.LSTSQ, Precision.FP64, 0, 0, ConditionMethod.AUTO);
        ArithmeticCheckException svd = assertThrows(ArithmeticCheckException.class,
                () -> solve(new PerturbedBackend(backend, Routine.GESDD, 150, null, k -> true), lstsq,
                        layers(300, 200, 0)));
        assertTrue(svd.getMessage().contains("computed a thin SVD wrongly"), svd.getMessage());
        ArithmeticCheckException gemm = assertThrows(ArithmeticCheckException.class,
                () -> solve(new PerturbedBackend(backend, Routine.GEMM, 8, null, k -> true), lstsq, layers(300, 200, 0)));
        assertTrue(gemm.getMessage().contains("computed a solve through the SVD wrongly"), gemm.getMessage());
    }
}
