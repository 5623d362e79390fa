package io.github.convsim.conversion;

import io.github.convsim.CpuBackendTest;
import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.junit.jupiter.api.Test;

/**
 * Conversion matrices against an independent double-precision computation with EJML: explicit inverse (the authors'
 * definition) for paper mode, pseudo-inverse for least squares.
 */
public class ConversionSolverTest extends CpuBackendTest {

    static double relErr(DMatrixRMaj expected, Matrix actual) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < actual.rows(); i++) {
            for (int j = 0; j < actual.cols(); j++) {
                double d = expected.get(i, j) - actual.get(i, j);
                num += d * d;
                den += expected.get(i, j) * expected.get(i, j);
            }
        }
        return Math.sqrt(num / den);
    }

    /** Layer {@code layer} of module m with Gaussian factors of rank r over a W0 of out x in (other tests use it). */
    public static LoraModule module(Random rng, int layer, int out, int in, int r) {
        Matrix a = new Matrix(r, in, TestData.gaussian(rng, r * in));
        Matrix b = new Matrix(out, r, TestData.gaussian(rng, out * r));
        return new LoraModule("m", "x." + layer + ".m", layer, "x." + layer + ".m.weight", false, 0, r, 2 * r, 2, a, b,
                false);
    }

    /** A matrix with prescribed condition number: U diag(logspace(0, -log10(cond))) V^T. */
    static Matrix conditioned(Random rng, int n, double cond) {
        DMatrixRMaj u = orthogonal(rng, n);
        DMatrixRMaj v = orthogonal(rng, n);
        DMatrixRMaj s = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            s.set(i, i, Math.pow(cond, -(double) i / (n - 1)));
        }
        DMatrixRMaj us = new DMatrixRMaj(n, n);
        CommonOps_DDRM.mult(u, s, us);
        DMatrixRMaj w = new DMatrixRMaj(n, n);
        CommonOps_DDRM.multTransB(us, v, w);
        Matrix m = Matrix.zeros(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                m.set(i, j, w.get(i, j));
            }
        }
        return m;
    }

    static DMatrixRMaj orthogonal(Random rng, int n) {
        DMatrixRMaj g = new DMatrixRMaj(n, n);
        for (int i = 0; i < n * n; i++) {
            g.data[i] = rng.nextGaussian();
        }
        var qr = org.ejml.dense.row.factory.DecompositionFactory_DDRM.qr(n, n);
        qr.decompose(g);
        return qr.getQ(null, false);
    }

    @Test
    void paperModeEqualsTheAuthorsExplicitInverse() {
        Random rng = new Random(7);
        List<LoraModule> layers = new ArrayList<>();
        List<Matrix> w0s = new ArrayList<>();
        for (int l = 0; l < 4; l++) {
            layers.add(module(rng, l, 40, 40, 3));
            w0s.add(l == 3 ? conditioned(rng, 40, 1e6) : new Matrix(40, 40, TestData.gaussian(rng, 1600)));
        }
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        ModuleConversion conv = ConversionAnalysis.convert(solver, layers, w0s);
        for (int l = 0; l < 4; l++) {
            DMatrixRMaj inv = new DMatrixRMaj(40, 40);
            assertTrue(CommonOps_DDRM.invert(ejml(w0s.get(l)), inv));
            DMatrixRMaj ca = new DMatrixRMaj(40, 3);
            CommonOps_DDRM.multTransB(inv, ejml(layers.get(l).a()), ca);
            DMatrixRMaj cb = new DMatrixRMaj(40, 3);
            CommonOps_DDRM.mult(inv, ejml(layers.get(l).b()), cb);
            double tol = l == 3 ? 1e-8 : 1e-12; // the explicit inverse itself loses cond * eps
            assertTrue(relErr(ca, conv.cA().get(l)) < tol, "C_A layer " + l + ": " + relErr(ca, conv.cA().get(l)));
            assertTrue(relErr(cb, conv.cB().get(l)) < tol, "C_B layer " + l);
            LayerDiagnostics d = conv.diagnostics().get(l);
            assertEquals(40, d.rank());
            // backward-stable LU: relative residual of order n * eps * cond at worst
            double res = l == 3 ? 1e-9 : 1e-12;
            assertTrue(d.residualA() < res && d.residualB() < res && d.residualDW() < res, d.toString());
            assertEquals("W0 C_A = A^T", d.equationA());
            assertTrue(d.precisionGap() > 0 && d.precisionGap() < 1, "fp32 gap " + d.precisionGap());
        }
        assertEquals(1e6, conv.diagnostics().get(3).condW0(), 1e6 * 1e-6);
        // the fp32 gap grows with the condition number
        assertTrue(conv.diagnostics().get(3).precisionGap() > 100 * conv.diagnostics().get(0).precisionGap());
    }

    @Test
    void theOneNormEstimateBoundsTheExactOneNormConditionNumberAndChangesNoSolution() {
        Random rng = new Random(31);
        List<LoraModule> layers = new ArrayList<>();
        List<Matrix> w0s = new ArrayList<>();
        double[] conds = {10, 1e4, 1e8, 1e12};
        for (int l = 0; l < conds.length; l++) {
            layers.add(module(rng, l, 60, 60, 4));
            w0s.add(conditioned(rng, 60, conds[l]));
        }
        ConversionSolver exact = new ConversionSolver(backend, SolveOptions.paper().withCond(ConditionMethod.EXACT));
        ConversionSolver estimate = new ConversionSolver(backend,
                SolveOptions.paper().withCond(ConditionMethod.ESTIMATE));
        ModuleConversion e = ConversionAnalysis.convert(exact, layers, w0s);
        ModuleConversion g = ConversionAnalysis.convert(estimate, layers, w0s);
        for (int l = 0; l < conds.length; l++) {
            DMatrixRMaj inv = new DMatrixRMaj(60, 60);
            assertTrue(CommonOps_DDRM.invert(ejml(w0s.get(l)), inv));
            double cond1 = NormOps_DDRM.normP1(ejml(w0s.get(l))) * NormOps_DDRM.normP1(inv);
            LayerDiagnostics de = e.diagnostics().get(l);
            LayerDiagnostics dg = g.diagnostics().get(l);
            // gecon's estimate is a lower bound of cond_1, in practice within a factor of 3 (the reference itself, from
            // an explicit inverse, carries a relative error of about cond * eps: 1e-4 at cond 1e12)
            assertTrue(dg.condW0() <= cond1 * (1 + 1e-3) && dg.condW0() >= cond1 / 3, dg.condW0() + " vs " + cond1);
            // cond_1 and cond_2 differ by at most a factor n
            assertTrue(cond1 / 60 <= de.condW0() * (1 + 1e-6) && de.condW0() <= 60 * cond1 * (1 + 1e-6));
            assertEquals("2-norm", de.condNorm());
            assertEquals("1-norm estimate", dg.condNorm());
            assertEquals(60, de.rank());
            assertEquals(-1, dg.rank());
            assertArrayEquals(e.cA().get(l).data(), g.cA().get(l).data(), 0);
            assertArrayEquals(e.cB().get(l).data(), g.cB().get(l).data(), 0);
        }
        assertEquals(1e12, e.diagnostics().get(3).condW0(), 1e12 * 1e-3);
        // auto: Lanczos in fp64 paper mode up to 2048, the estimate above; in fp32 paper mode exact up to 2048, the
        // estimate above; SVD modes exact; lanczos: Lanczos at any size, where fp64 LU factors exist
        assertTrue(ConditionMethod.AUTO.lanczosFor(SolveMode.PAPER, Precision.FP64, 2048));
        assertFalse(ConditionMethod.AUTO.lanczosFor(SolveMode.PAPER, Precision.FP64, 4096));
        assertTrue(ConditionMethod.LANCZOS.lanczosFor(SolveMode.PAPER, Precision.FP64, 4096));
        assertFalse(ConditionMethod.LANCZOS.lanczosFor(SolveMode.PAPER, Precision.FP32, 768));
        assertFalse(ConditionMethod.LANCZOS.lanczosFor(SolveMode.LSTSQ, Precision.FP64, 768));
        assertFalse(ConditionMethod.AUTO.exactFor(SolveMode.PAPER, Precision.FP64, 4096, 4096));
        assertFalse(ConditionMethod.AUTO.exactFor(SolveMode.PAPER, Precision.FP64, 768, 768));
        assertTrue(ConditionMethod.AUTO.exactFor(SolveMode.PAPER, Precision.FP32, 2048, 2048));
        assertFalse(ConditionMethod.AUTO.exactFor(SolveMode.PAPER, Precision.FP32, 4096, 4096));
        assertTrue(ConditionMethod.ESTIMATE.exactFor(SolveMode.LSTSQ, Precision.FP64, 4096, 4096));
        // and by Lanczos, the same cond_2 as the SVD's to 1e-6 (rank n: every W0 here is invertible)
        ModuleConversion lanczos = ConversionAnalysis.convert(new ConversionSolver(backend, SolveOptions.paper()),
                layers, w0s);
        for (int l = 0; l < conds.length; l++) {
            LayerDiagnostics dl = lanczos.diagnostics().get(l);
            double exactCond = e.diagnostics().get(l).condW0();
            assertEquals("2-norm (Lanczos)", dl.condNorm());
            assertEquals(exactCond, dl.condW0(), Math.max(1e-6, 1e-14 * conds[l]) * exactCond, "cond " + conds[l]);
            assertEquals(60, dl.rank(), "rank at cond " + conds[l] + ": s_min is above 60 eps s_max");
        }
    }

    @Test
    void theEstimateStillRefusesAWZeroSingularToWorkingPrecision() {
        Random rng = new Random(32);
        List<LoraModule> layers = List.of(module(rng, 0, 30, 30, 2));
        List<Matrix> w0s = List.of(conditioned(rng, 30, 1e18));
        ConversionSolver estimate = new ConversionSolver(backend,
                SolveOptions.paper().withCond(ConditionMethod.ESTIMATE));
        IllConditionedException ex = assertThrows(IllConditionedException.class,
                () -> ConversionAnalysis.convert(estimate, layers, w0s));
        assertTrue(ex.getMessage().contains("1-norm estimate") && ex.getMessage().contains("--mode lstsq"),
                ex.getMessage());
    }

    @Test
    void leastSquaresForNonSquareW0UsesTheTransposedEquationForA() {
        Random rng = new Random(8);
        int out = 12;
        int in = 30;
        LoraModule m = module(rng, 0, out, in, 2);
        Matrix w0 = new Matrix(out, in, TestData.gaussian(rng, out * in));
        ConversionSolver solver = new ConversionSolver(backend,
                new SolveOptions(SolveMode.LSTSQ, Precision.FP64, 1e-6, 0));
        ModuleConversion conv = ConversionAnalysis.convert(solver, List.of(m), List.of(w0));
        DMatrixRMaj pinv = new DMatrixRMaj(in, out);
        CommonOps_DDRM.pinv(ejml(w0), pinv);
        DMatrixRMaj cb = new DMatrixRMaj(in, 2);
        CommonOps_DDRM.mult(pinv, ejml(m.b()), cb);
        assertTrue(relErr(cb, conv.cB().get(0)) < 1e-12);
        // W0^T C_A = A^T: C_A = pinv(W0^T) A^T = pinv(W0)^T A^T, of W0's output dimension
        DMatrixRMaj ca = new DMatrixRMaj(out, 2);
        CommonOps_DDRM.multTransAB(pinv, ejml(m.a()), ca);
        assertTrue(relErr(ca, conv.cA().get(0)) < 1e-12);
        assertEquals(Equation.W0T_X, conv.equationA());
        assertEquals("W0^T C_A = A^T", conv.diagnostics().get(0).equationA());
        assertEquals(out, conv.cA().get(0).rows());
        // underdetermined W0 C_B = B is solved exactly; overdetermined W0^T C_A = A^T is not
        assertTrue(conv.diagnostics().get(0).residualB() < 1e-12);
        assertTrue(conv.diagnostics().get(0).residualA() > 0.1);
    }

    @Test
    void pinvDropsSmallSingularValuesAndRidgeShrinksThem() {
        Random rng = new Random(9);
        Matrix w0 = conditioned(rng, 20, 1e10);
        LoraModule m = module(rng, 0, 20, 20, 2);
        ConversionSolver pinv = new ConversionSolver(backend, new SolveOptions(SolveMode.PINV, Precision.FP64, 1e-3, 0));
        Matrix cb = ConversionAnalysis.convert(pinv, List.of(m), List.of(w0)).cB().get(0);
        var svd = org.ejml.dense.row.factory.DecompositionFactory_DDRM.svd(20, 20, true, true, false);
        assertTrue(svd.decompose(ejml(w0)));
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj v = svd.getV(null, false);
        double[] s = svd.getSingularValues();
        DMatrixRMaj filtered = new DMatrixRMaj(20, 20);
        DMatrixRMaj ridge = new DMatrixRMaj(20, 20);
        double smax = CommonOps_DDRM.elementMax(new DMatrixRMaj(1, s.length, true, s));
        for (int k = 0; k < s.length; k++) {
            filtered.set(k, k, s[k] > 1e-3 * smax ? 1 / s[k] : 0);
            ridge.set(k, k, s[k] / (s[k] * s[k] + 0.01));
        }
        for (var pair : List.of(new Object[] {filtered, pinv}, new Object[] {ridge,
                new ConversionSolver(backend, new SolveOptions(SolveMode.RIDGE, Precision.FP64, 1e-6, 0.01))})) {
            DMatrixRMaj f = (DMatrixRMaj) pair[0];
            DMatrixRMaj vf = new DMatrixRMaj(20, 20);
            CommonOps_DDRM.mult(v, f, vf);
            DMatrixRMaj op = new DMatrixRMaj(20, 20);
            CommonOps_DDRM.multTransB(vf, u, op);
            DMatrixRMaj expected = new DMatrixRMaj(20, 2);
            CommonOps_DDRM.mult(op, ejml(m.b()), expected);
            Matrix got = ConversionAnalysis.convert((ConversionSolver) pair[1], List.of(m), List.of(w0)).cB().get(0);
            assertTrue(relErr(expected, got) < 1e-10, "relative error " + relErr(expected, got));
        }
        // the dropped directions (s below 1e-3 s_max) no longer blow C_B up: ||C_B|| <= ||B|| / (1e-3 s_max), while
        // the exact inverse of this full-rank W0 amplifies B by up to 1e10 / s_max
        assertEquals(20, SingularOps_DDRM.rank(ejml(w0), 1e-14));
        assertTrue(cb.frobeniusNorm() <= m.b().frobeniusNorm() / (1e-3 * smax) * (1 + 1e-12),
                cb.frobeniusNorm() + " > " + m.b().frobeniusNorm() / (1e-3 * smax));
        Matrix exact = ConversionAnalysis.convert(new ConversionSolver(backend,
                new SolveOptions(SolveMode.LSTSQ, Precision.FP64, 1e-15, 0)), List.of(m), List.of(w0)).cB().get(0);
        assertTrue(exact.frobeniusNorm() > 1e3 * cb.frobeniusNorm(), exact.frobeniusNorm() + " vs " + cb.frobeniusNorm());
    }

    @Test
    void paperModeRefusesSingularAndNonSquareW0WithAHint() {
        Random rng = new Random(10);
        LoraModule m = module(rng, 5, 10, 10, 2);
        Matrix singular = conditioned(rng, 10, 1e18);
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        IllConditionedException e = assertThrows(IllConditionedException.class,
                () -> ConversionAnalysis.convert(solver, List.of(m), List.of(singular)));
        assertTrue(e.getMessage().contains("module m layer 5"), e.getMessage());
        assertTrue(e.getMessage().contains("--mode lstsq"), e.getMessage());
        LoraModule wide = module(rng, 2, 10, 12, 2);
        IllConditionedException e2 = assertThrows(IllConditionedException.class,
                () -> ConversionAnalysis.convert(solver, List.of(wide), List.of(Matrix.zeros(10, 12))));
        assertTrue(e2.getMessage().contains("10x12"), e2.getMessage());
        // fp32 refuses at a far lower condition number than fp64
        Matrix cond1e9 = conditioned(rng, 10, 1e9);
        assertDoesNotThrow(() -> ConversionAnalysis.convert(solver, List.of(m), List.of(cond1e9)));
        ConversionSolver fp32 = new ConversionSolver(backend, SolveOptions.paper().withPrecision(Precision.FP32));
        assertThrows(IllConditionedException.class,
                () -> ConversionAnalysis.convert(fp32, List.of(m), List.of(cond1e9)));
    }
}
