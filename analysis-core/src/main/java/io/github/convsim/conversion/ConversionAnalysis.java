package io.github.convsim.conversion;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Norms;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Solves every layer's conversion matrices for one module and measures how well they solve their equations:
 * C_A from (W0 or W0^T) C_A = A^T, C_B from W0 C_B = B, residuals for A, B and dW, cond(W0), rank, and the gap
 * between fp32 and fp64 results.
 */
public final class ConversionAnalysis {
    private ConversionAnalysis() {}

    /** Conversion matrices of all layers of one module, {@code w0s} in the order of {@code layers}. */
    public static ModuleConversion convert(ConversionSolver solver, List<LoraModule> layers, List<Matrix> w0s) {
        return convert(solver, layers, w0s, FactorCache.NONE);
    }

    /**
     * As {@link #convert(ConversionSolver, List, List)}, taking W0's factors and cond from {@code cache} when it holds
     * every layer's (and leaving there those it computes). The caller calls {@link FactorCache#settle} before it lets go
     * of the result's systems.
     */
    public static ModuleConversion convert(ConversionSolver solver, List<LoraModule> layers, List<Matrix> w0s,
                                           FactorCache cache) {
        long t0 = System.nanoTime();
        Precision p = solver.options().precision();
        List<W0System> systems = solver.cached(layers, w0s, cache, p);
        long fromCache = System.nanoTime() - t0;
        t0 = System.nanoTime();
        long t1 = t0;
        if (systems == null) {
            systems = solver.factorOnly(layers, w0s);
            t1 = System.nanoTime();
            systems = solver.condition(systems);
            // the group's own factors: written while the rest of the group's work uses them (the caller settles)
            solver.keep(systems, cache, true);
        }
        long t2 = System.nanoTime();
        Equation eqA = ConversionSolver.equationForA(systems.get(0));
        for (W0System s : systems) {
            if (ConversionSolver.equationForA(s) != eqA) {
                throw new IllConditionedException("module " + layers.get(0).module()
                        + " mixes square and non-square W0 across layers");
            }
        }
        List<Matrix> targetsA = new ArrayList<>();
        List<Matrix> targetsB = new ArrayList<>();
        for (LoraModule m : layers) {
            targetsA.add(m.a().transpose());
            targetsB.add(m.b());
        }
        ConversionSolver.PerFactor solved = solver.solveBoth(systems, targetsA, targetsB, eqA);
        List<Matrix> cA = solved.a();
        List<Matrix> cB = solved.b();
        long t3 = System.nanoTime();
        // W0 C_B serves both residual_B and residual_dW = ||(W0 C_B - B) A|| / ||B A||
        ConversionSolver.PerFactor products = multiplyBoth(solver, w0s, cA, cB, eqA);
        List<Matrix> w0cB = products.b();
        List<Double> gap = precisionGap(solver, systems, layers, w0s, cA, cB, targetsA, targetsB, eqA, cache);
        SolveOptions o = solver.options();
        List<LayerConversion> out = new ArrayList<>();
        for (int k = 0; k < layers.size(); k++) {
            LoraModule m = layers.get(k);
            W0System s = systems.get(k);
            double resA = ConversionSolver.relativeDifference(products.a().get(k), targetsA.get(k));
            double resB = ConversionSolver.relativeDifference(w0cB.get(k), targetsB.get(k));
            double resDW = residualDW(w0cB.get(k), m);
            LayerDiagnostics d = new LayerDiagnostics(m.module(), m.layer(), s.w0().rows(), s.w0().cols(),
                    (eqA == Equation.W0_X ? "W0 C_A = A^T" : "W0^T C_A = A^T"), "W0 C_B = B", o.mode(), o.precision(),
                    s.conditionNumber(), s.conditioning().norm(), s.numericalRank(), solver.solutionRank(s), resA, resB,
                    resDW, gap.get(k));
            out.add(new LayerConversion(m, cA.get(k), cB.get(k), d));
        }
        long t4 = System.nanoTime();
        Map<String, Double> seconds = new LinkedHashMap<>();
        seconds.put("factors_from_cache", fromCache / 1e9);
        seconds.put("factor", (t1 - t0) / 1e9);
        seconds.put("solve", (t3 - t2) / 1e9);
        seconds.put("cond", (t2 - t1) / 1e9);
        seconds.put("residuals_and_fp32_check", (t4 - t3) / 1e9);
        return new ModuleConversion(layers.get(0).module(), out, systems, eqA, seconds);
    }

    /** op(W0) C_A and W0 C_B of every layer, in one product per layer where op(W0) is W0. */
    private static ConversionSolver.PerFactor multiplyBoth(ConversionSolver solver, List<Matrix> w0s,
                                                           List<Matrix> cA, List<Matrix> cB, Equation eqA) {
        if (eqA != Equation.W0_X) {
            return new ConversionSolver.PerFactor(solver.backend().gemm(w0s, true, cA, false, Precision.FP64),
                    solver.backend().gemm(w0s, false, cB, false, Precision.FP64));
        }
        return ConversionSolver.jointly(cA, cB, both -> solver.backend().gemm(w0s, false, both, false, Precision.FP64));
    }

    /** ||W0 C_dW - B A|| / ||B A|| = ||(W0 C_B - B) A|| / ||B A||, with C_dW = C_B A never formed. */
    private static double residualDW(Matrix w0cB, LoraModule m) {
        Matrix r = w0cB.copy();
        double[] d = r.data();
        double[] b = m.b().data();
        for (int i = 0; i < d.length; i++) {
            d[i] -= b[i];
        }
        double denom = Norms.productFrobenius(m.b(), m.a());
        double num = Norms.productFrobenius(r, m.a());
        return denom == 0 ? num : num / denom;
    }

    /**
     * fp32 against fp64: in paper mode the other precision's LU solve is cheap and always run; in the SVD modes only
     * an fp32 run pays for the fp64 comparison.
     */
    private static List<Double> precisionGap(ConversionSolver solver, List<W0System> done, List<LoraModule> layers,
                                             List<Matrix> w0s,
                                             List<Matrix> cA, List<Matrix> cB, List<Matrix> targetsA,
                                             List<Matrix> targetsB, Equation eqA, FactorCache cache) {
        SolveOptions o = solver.options();
        List<Double> gaps = new ArrayList<>();
        if (o.mode() != SolveMode.PAPER && o.precision() == Precision.FP64) {
            layers.forEach(l -> gaps.add(Double.NaN));
            return gaps;
        }
        Precision other = o.precision() == Precision.FP64 ? Precision.FP32 : Precision.FP64;
        ConversionSolver alt = new ConversionSolver(solver.backend(), o.withPrecision(other));
        List<Conditioning> known = done.stream().map(W0System::conditioning).toList();
        List<W0System> systems = alt.cached(layers, w0s, cache, other, known);
        if (systems == null) {
            try {
                systems = alt.factor(layers, w0s, known);
            } catch (IllConditionedException singularInFp32) {
                layers.forEach(l -> gaps.add(Double.POSITIVE_INFINITY));
                return gaps;
            }
            alt.keep(systems, cache, false);
        }
        ConversionSolver.PerFactor altSolved = alt.solveBoth(systems, targetsA, targetsB, eqA);
        List<Matrix> altA = altSolved.a();
        List<Matrix> altB = altSolved.b();
        for (int k = 0; k < layers.size(); k++) {
            Matrix a64 = other == Precision.FP64 ? altA.get(k) : cA.get(k);
            Matrix a32 = other == Precision.FP64 ? cA.get(k) : altA.get(k);
            Matrix b64 = other == Precision.FP64 ? altB.get(k) : cB.get(k);
            Matrix b32 = other == Precision.FP64 ? cB.get(k) : altB.get(k);
            gaps.add(Math.max(ConversionSolver.relativeDifference(a32, a64),
                    ConversionSolver.relativeDifference(b32, b64)));
        }
        return gaps;
    }
}
