package io.github.convsim.conversion;

import io.github.convsim.linalg.ConditionEstimate;
import io.github.convsim.linalg.LanczosCondition;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.SingularMatrixException;
import io.github.convsim.linalg.Svd;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * Factors W0 of every layer of a module and solves conversion equations against them, batched over layers.
 *
 * <p>Paper mode solves W0 X = T by LU (the authors' W0^-1 T without forming the inverse). The other modes use the
 * thin SVD W0 = U S V^T: X = V f(S) U^T T for W0 X = T and X = U f(S) V^T T for W0^T X = T, with f(s) = 1/s above
 * the cut-off and 0 below it (lstsq, pinv) or f(s) = s / (s^2 + lambda) (ridge).
 */
public final class ConversionSolver {
    private final LinalgBackend backend;
    private final SolveOptions options;
    private final SolveGuard guard;

    public ConversionSolver(LinalgBackend backend, SolveOptions options) {
        this.backend = backend;
        this.options = options;
        this.guard = new SolveGuard(backend);
    }

    /**
     * What the plain-Java check of every factorisation and solve found so far (see {@link SolveGuard}): how many were
     * checked, the worst error as a multiple of n eps, and the bound above which the run stops.
     */
    public java.util.Map<String, Object> guardSummary() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("checks", guard.checks());
        m.put("worst_error_over_n_eps", Math.round(guard.worstRatio() * 1e4) / 1e4);
        m.put("bound_over_n_eps", SolveGuard.BOUND);
        return m;
    }

    public SolveOptions options() {
        return options;
    }

    public LinalgBackend backend() {
        return backend;
    }

    /**
     * Factors each W0 for the configured mode.
     *
     * @throws IllConditionedException in paper mode, for a W0 that is not square or is singular to working
     *     precision; the message names the module and layer and suggests lstsq or pinv
     */
    public List<W0System> factor(List<LoraModule> layers, List<Matrix> w0s) {
        return condition(factorOnly(layers, w0s));
    }

    /**
     * As {@link #factor(List, List)}, with cond(W0) the caller has from an earlier factorisation of the same matrices.
     */
    public List<W0System> factor(List<LoraModule> layers, List<Matrix> w0s, List<Conditioning> known) {
        List<W0System> systems = factorOnly(layers, w0s);
        List<W0System> out = new ArrayList<>(systems.size());
        for (int k = 0; k < systems.size(); k++) {
            W0System s = systems.get(k);
            if (options.mode() == SolveMode.PAPER) {
                requireInvertible(s.module(), known.get(k));
            }
            out.add(new W0System(s.module(), s.w0(), known.get(k), s.lu(), s.svd()));
        }
        return out;
    }

    /**
     * As {@link #factor(List, List)}, the factors and cond(W0) taken from {@code cache} when it holds every layer's
     * (paper mode only), else computed and left there: the same systems either way. The caller calls
     * {@link FactorCache#settle} before it lets go of the systems.
     */
    public List<W0System> factor(List<LoraModule> layers, List<Matrix> w0s, FactorCache cache) {
        List<W0System> found = cached(layers, w0s, cache, options.precision());
        if (found != null) {
            return found;
        }
        List<W0System> systems = factor(layers, w0s);
        keep(systems, cache, true);
        return systems;
    }

    /**
     * Every layer's factors and cond(W0) from {@code cache} (paper mode only), or null when a layer's are missing there:
     * then the caller factors the whole group.
     */
    List<W0System> cached(List<LoraModule> layers, List<Matrix> w0s, FactorCache cache, Precision p) {
        return cached(layers, w0s, cache, p, null);
    }

    /** As {@link #cached(List, List, FactorCache, Precision)}, with cond(W0) known from the working precision's. */
    List<W0System> cached(List<LoraModule> layers, List<Matrix> w0s, FactorCache cache, Precision p,
                          List<Conditioning> known) {
        if (options.mode() != SolveMode.PAPER || cache == FactorCache.NONE) {
            return null;
        }
        // read, verified and decoded one layer per core: a group's entries are tens to hundreds of megabytes
        FactorCache.Factors[] found = new FactorCache.Factors[layers.size()];
        java.util.stream.IntStream.range(0, found.length).parallel()
                .forEach(k -> found[k] = cache.find(layers.get(k), p));
        List<W0System> out = new ArrayList<>(layers.size());
        for (int k = 0; k < layers.size(); k++) {
            FactorCache.Factors f = found[k];
            if (f == null || f.lu().precision() != p || f.lu().n() != w0s.get(k).rows()) {
                return null;
            }
            out.add(new W0System(layers.get(k), w0s.get(k), known != null ? known.get(k) : f.conditioning(), f.lu(),
                    null));
        }
        return out;
    }

    /**
     * Leaves each system's LU factors and cond(W0) in {@code cache} (paper mode only); {@code held}: the caller uses the
     * systems until it calls {@link FactorCache#settle} ({@link FactorCache#keepHeld}).
     */
    void keep(List<W0System> systems, FactorCache cache, boolean held) {
        if (options.mode() != SolveMode.PAPER || cache == FactorCache.NONE) {
            return;
        }
        for (W0System s : systems) {
            FactorCache.Factors f = new FactorCache.Factors(s.lu(), s.conditioning());
            if (held) {
                cache.keepHeld(s.module(), f);
            } else {
                cache.keep(s.module(), f);
            }
        }
    }

    /**
     * LU (paper mode) or thin SVD of each W0, without cond(W0) (the systems report NaN for it): the factorisation
     * alone, as the solve phase is measured. {@link #condition} adds cond(W0).
     */
    public List<W0System> factorOnly(List<LoraModule> layers, List<Matrix> w0s) {
        boolean paper = options.mode() == SolveMode.PAPER;
        List<LuFactors> lus = null;
        List<Svd> svds = null;
        if (paper) {
            for (int k = 0; k < layers.size(); k++) {
                Matrix w = w0s.get(k);
                if (w.rows() != w.cols()) {
                    throw new IllConditionedException(where(layers.get(k)) + ": W0 is " + w.shapeString()
                            + ", and paper mode needs a square W0 to invert; use --mode lstsq (or pinv)");
                }
            }
            try {
                lus = backend.lu(w0s, options.precision());
            } catch (SingularMatrixException e) {
                throw new IllConditionedException(singularLayer(layers, w0s) + " is exactly singular ("
                        + e.getMessage() + "); paper mode needs an invertible W0: use --mode lstsq or --mode pinv");
            }
        } else {
            svds = backend.svd(w0s, true, options.precision());
        }
        List<W0System> out = new ArrayList<>(layers.size());
        for (int k = 0; k < layers.size(); k++) {
            out.add(new W0System(layers.get(k), w0s.get(k), Conditioning.notComputed(), paper ? lus.get(k) : null,
                    paper ? null : svds.get(k)));
        }
        if (!paper) {
            guard.checkSvds(out, options.precision());
        }
        return out;
    }

    /**
     * cond(W0) of factored systems as the options say: exact from the solve's own SVD (fp64 SVD modes), the 2-norm
     * by Lanczos from the fp64 LU factors (paper mode), exact from a values-only fp64 SVD, or estimated from the LU
     * factors.
     *
     * @throws IllConditionedException in paper mode, for a W0 singular to working precision
     */
    public List<W0System> condition(List<W0System> systems) {
        SolveMode mode = options.mode();
        boolean paper = mode == SolveMode.PAPER;
        Conditioning[] cond = new Conditioning[systems.size()];
        List<Integer> exact = new ArrayList<>();
        List<Integer> lanczos = new ArrayList<>();
        List<Integer> estimated = new ArrayList<>();
        for (int k = 0; k < systems.size(); k++) {
            W0System s = systems.get(k);
            Matrix w = s.w0();
            if (!paper && options.precision() == Precision.FP64) {
                cond[k] = Conditioning.exact(s.svd().s(), w.rows(), w.cols());
            } else if (options.cond().lanczosFor(mode, options.precision(), w.rows()) && s.lu() != null
                    && s.lu().precision() == Precision.FP64) {
                lanczos.add(k);
            } else if (options.cond().exactFor(mode, options.precision(), w.rows(), w.cols())) {
                exact.add(k);
            } else {
                estimated.add(k);
            }
        }
        if (!estimated.isEmpty()) {
            double[] norms = new double[estimated.size()];
            java.util.stream.IntStream.range(0, norms.length).parallel()
                    .forEach(e -> norms[e] = ConditionEstimate.oneNorm(systems.get(estimated.get(e)).w0()));
            double[] found = backend.conditionEstimates(estimated.stream().map(k -> systems.get(k).lu()).toList(),
                    norms);
            for (int e = 0; e < found.length; e++) {
                cond[estimated.get(e)] = Conditioning.estimate(found[e]);
            }
        }
        // seeded by the layer, so the value does not depend on the grouping
        if (!lanczos.isEmpty()) {
            List<LanczosCondition.Result> found = backend.lanczosCondition(
                    lanczos.stream().map(k -> systems.get(k).w0()).toList(),
                    lanczos.stream().map(k -> systems.get(k).lu()).toList(), LanczosCondition.DEFAULT_TOLERANCE,
                    lanczos.stream().mapToLong(k -> systems.get(k).module().layer()).toArray());
            for (int e = 0; e < lanczos.size(); e++) {
                cond[lanczos.get(e)] = Conditioning.lanczos(found.get(e), systems.get(lanczos.get(e)).w0().rows());
            }
        }
        if (!exact.isEmpty()) {
            List<Svd> values = backend.svd(exact.stream().map(k -> systems.get(k).w0()).toList(), false,
                    Precision.FP64);
            for (int e = 0; e < exact.size(); e++) {
                Matrix w = systems.get(exact.get(e)).w0();
                cond[exact.get(e)] = Conditioning.exact(values.get(e).s(), w.rows(), w.cols());
            }
        }
        List<W0System> out = new ArrayList<>(systems.size());
        for (int k = 0; k < systems.size(); k++) {
            W0System s = systems.get(k);
            if (paper) {
                requireInvertible(s.module(), cond[k]);
            }
            out.add(new W0System(s.module(), s.w0(), cond[k], s.lu(), s.svd()));
        }
        return out;
    }

    private void requireInvertible(LoraModule layer, Conditioning c) {
        Precision p = options.precision();
        if (!Double.isNaN(c.value()) && !(c.value() * p.epsilon() < 1)) {
            throw new IllConditionedException(where(layer) + ": W0 is singular to " + p.name().toLowerCase()
                    + " precision (cond " + String.format(Locale.ROOT, "%.3g", c.value()) + ", " + c.norm()
                    + "); paper mode needs an invertible W0: use --mode lstsq or --mode pinv");
        }
    }

    /** The equation C_A solves: the paper's W0 C_A = A^T for square W0, W0^T C_A = A^T otherwise. */
    public static Equation equationForA(W0System s) {
        return s.isSquare() ? Equation.W0_X : Equation.W0T_X;
    }

    /** X with (W0 or W0^T) X = T for each layer, T given per layer; one equation for the whole batch. */
    public List<Matrix> solve(List<W0System> systems, List<Matrix> targets, Equation equation) {
        int n = systems.size();
        if (options.mode() == SolveMode.PAPER) {
            if (equation != Equation.W0_X) {
                throw new IllegalStateException("paper mode solves W0 X = T only");
            }
            List<Matrix> x = backend.luSolve(systems.stream().map(W0System::lu).toList(), targets);
            guard.checkLuSolutions(systems, targets, x, options.precision());
            return x;
        }
        boolean plain = equation == Equation.W0_X;
        // W0 X = T: X = V f(S) (U^T T);  W0^T X = T: X = U f(S) (V^T T)
        List<Matrix> project = new ArrayList<>(n);
        List<Matrix> back = new ArrayList<>(n);
        for (W0System s : systems) {
            project.add(plain ? s.svd().u() : s.svd().vt());
            back.add(plain ? s.svd().vt() : s.svd().u());
        }
        Precision p = options.precision();
        List<Matrix> projected = backend.gemm(project, plain, targets, false, p);
        List<double[]> filters = new ArrayList<>(n);
        List<Matrix> filtered = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            filters.add(filter(systems.get(k)));
            filtered.add(scaleRows(projected.get(k), filters.get(k)));
        }
        List<Matrix> x = backend.gemm(back, plain, filtered, false, p);
        guard.checkSvdSolutions(systems, targets, x, equation, filters, p);
        return x;
    }

    /**
     * The dimension of the subspace every solution against {@code system} lies in: X = V f(S) U^T T (or U f(S) V^T T)
     * uses only W0's singular directions with f(s) nonzero, those above lstsq's or pinv's cut-off, or ridge's nonzero
     * singular values; paper mode's LU uses all min(out, in) of them.
     */
    public int solutionRank(W0System system) {
        if (options.mode() == SolveMode.PAPER) {
            return Math.min(system.w0().rows(), system.w0().cols());
        }
        int kept = 0;
        for (double f : filter(system)) {
            kept += f != 0 ? 1 : 0;
        }
        return kept;
    }

    /** f(s) for each singular value of W0: 1/s above the cut-off (lstsq, pinv) or s / (s^2 + lambda) (ridge). */
    private double[] filter(W0System system) {
        double[] s = system.svd().s();
        double smax = s.length == 0 ? 0 : s[0];
        Matrix w = system.w0();
        double cutoff = switch (options.mode()) {
            case LSTSQ -> Math.max(w.rows(), w.cols()) * options.precision().epsilon() * smax;
            case PINV -> options.rcond() * smax;
            default -> 0;
        };
        double[] f = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            if (options.mode() == SolveMode.RIDGE) {
                f[i] = s[i] / (s[i] * s[i] + options.lambda());
            } else {
                f[i] = s[i] > cutoff && s[i] > 0 ? 1 / s[i] : 0;
            }
        }
        return f;
    }

    /** Rows of {@code y} (one per singular value of W0) multiplied by f. */
    private static Matrix scaleRows(Matrix y, double[] f) {
        Matrix out = y.copy();
        double[] d = out.data();
        for (int j = 0; j < y.cols(); j++) {
            for (int i = 0; i < y.rows(); i++) {
                d[i + j * y.rows()] *= f[i];
            }
        }
        return out;
    }

    /** Each layer's matrix on the A side (C_A, or what derives from it) and on the B side. */
    public record PerFactor(List<Matrix> a, List<Matrix> b) {}

    /**
     * C_A ({@code equationA}) and C_B (W0 X = B) of every layer: one solve of [T_A | T_B] per layer where both solve
     * W0 X = T (the factors are read once for both), two solves otherwise.
     */
    public PerFactor solveBoth(List<W0System> systems, List<Matrix> targetsA, List<Matrix> targetsB,
                               Equation equationA) {
        if (equationA != Equation.W0_X) {
            return new PerFactor(solve(systems, targetsA, equationA), solve(systems, targetsB, Equation.W0_X));
        }
        return jointly(targetsA, targetsB, both -> solve(systems, both, Equation.W0_X));
    }

    /**
     * {@code op} applied to each layer's [left | right] at once, its results split again after as many columns as that
     * layer's left matrix has: one call where two would read the same left operand (W0, or its factors) twice.
     */
    static PerFactor jointly(List<Matrix> left, List<Matrix> right, UnaryOperator<List<Matrix>> op) {
        List<Matrix> both = new ArrayList<>(left.size());
        for (int k = 0; k < left.size(); k++) {
            both.add(Matrix.hstack(left.get(k), right.get(k)));
        }
        List<Matrix> joined = op.apply(both);
        List<Matrix> a = new ArrayList<>(joined.size());
        List<Matrix> b = new ArrayList<>(joined.size());
        for (int k = 0; k < joined.size(); k++) {
            int r = left.get(k).cols();
            Matrix x = joined.get(k);
            a.add(x.columnSlice(0, r));
            b.add(x.columnSlice(r, x.cols() - r));
        }
        return new PerFactor(a, b);
    }

    /** ||X - Y||_F / ||Y||_F, or ||X||_F when Y = 0. */
    public static double relativeDifference(Matrix x, Matrix y) {
        double[] a = x.data();
        double[] b = y.data();
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            num += d * d;
            den += b[i] * b[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /** Which layer of a batch has the singular W0, found by factoring them one at a time. */
    private String singularLayer(List<LoraModule> layers, List<Matrix> w0s) {
        for (int k = 0; k < layers.size(); k++) {
            try {
                backend.lu(List.of(w0s.get(k)), options.precision());
            } catch (SingularMatrixException e) {
                LoraModule m = layers.get(k);
                return where(m) + ": W0 '" + m.baseKey() + "'";
            }
        }
        return "a W0 of module " + layers.get(0).module();
    }

    private static String where(LoraModule m) {
        return "module " + m.module() + " layer " + m.layer();
    }
}
