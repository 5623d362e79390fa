package io.github.convsim.condlora;

import io.github.convsim.common.ProgressListener;
import io.github.convsim.common.RandomMatrices;
import io.github.convsim.common.Seeds;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.ConditionEstimate;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.SingularMatrixException;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Norms;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.pipeline.LayerGroups;
import io.github.convsim.pipeline.LayerStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Fits CondLoRA's single linear layer to any LoRA: for each module, the shared Wa, Wb [r, in] minimising
 * sum_l ||W0_l Wa^T - A_l^T||^2 (and likewise W0_l Wb^T against B_l), plus lambda ||W||^2 for ridge. Stacking the
 * layers, S = [W0_1; ...; W0_L] and T = [A_1^T; ...; A_L^T], this is one least-squares problem S Wa^T = T.
 *
 * <p>S is never formed: it would hold every layer's W0 at once (4 GiB per module of a 7B model). The base is streamed
 * twice through {@link LayerStream}. The first pass sums G = S^T S = sum_l W0_l^T W0_l and S^T T = sum_l W0_l^T T_l
 * for the observed targets, every null draw's and every plant's ({@link SharedLayerPlants}, for power); then
 * Wa^T = (G + lambda I)^-1 S^T T ({@link #solveNormal}: by LU when G is well conditioned, else the pseudo-inverse from
 * G's eigenvalues). The second pass applies each fit, W0_l Wa^T, and measures it against its targets layer by layer.
 * Each layer's Gaussian null targets come from its own generator, so both passes see the same draws whatever the
 * grouping.
 */
public final class CondLoraFit {
    private CondLoraFit() {}

    /**
     * Fits every module of {@code ckpt} but those {@link #unfittable} names (at least one must remain), streaming its
     * base within the heap.
     *
     * <pre>{@code
     * try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, base); Backends.Choice cpu = Backends.select("cpu")) {
     *     for (ModuleFit f : CondLoraFit.fit(ckpt, cpu.backend(), CondLoraSettings.defaults())) {
     *         System.out.println(f.module() + ": R^2 of A " + f.r2A() + ", shuffled layers " + f.shuffled().r2A()[0]);
     *     }
     * }
     * }</pre>
     */
    public static List<ModuleFit> fit(LoraCheckpoint ckpt, LinalgBackend backend, CondLoraSettings settings)
            throws CheckpointException {
        return fit(ckpt, backend, settings, Runtime.getRuntime().maxMemory(), ProgressListener.NONE);
    }

    /**
     * As {@link #fit(LoraCheckpoint, LinalgBackend, CondLoraSettings)} within {@code memory} bytes, reporting each
     * layer group of each pass to {@code progress}.
     */
    public static List<ModuleFit> fit(LoraCheckpoint ckpt, LinalgBackend backend, CondLoraSettings settings,
                                      long memory, ProgressListener progress) throws CheckpointException {
        double ridge = settings.ridge();
        int draws = settings.draws();
        long seed = settings.seed();
        int plants = settings.power() ? SharedLayerPlants.REPETITIONS : 0;
        Map<String, String> unfittable = unfittable(ckpt);
        List<String> modules = ckpt.moduleNames().stream().filter(m -> !unfittable.containsKey(m)).toList();
        if (modules.isEmpty()) {
            throw new IllegalArgumentException("no module can be fitted: " + String.join("; ",
                    unfittable.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList()));
        }
        long total = 2L * modules.stream().mapToLong(m -> ckpt.layersOf(m).size()).sum();
        long[] done = {0};
        List<ModuleFit> out = new ArrayList<>();
        for (String module : modules) {
            List<LoraModule> layers = ckpt.layersOf(module);
            LoraModule first = layers.get(0);
            long fixed = (long) Double.BYTES * first.in() * (first.in() + 4L * first.rank() * (1 + 2 * draws
                    + 2 * plants));
            int group = Math.min(layers.size(), LayerGroups.size(first, Math.max(1, memory - fixed)));
            LayerStream stream = new LayerStream(ckpt, group);
            ModuleTargets targets = new ModuleTargets(module, layers, draws, plants, seed, aNotFitted(layers));
            out.add(targets.fit(backend, stream, ridge, n -> progress.progress("condlora fit", done[0] += n, total)));
        }
        return out;
    }

    /**
     * The modules of {@code ckpt} that one shared layer cannot be fitted to, each with the reason: a single layer, or
     * ranks that differ between layers. {@link #fit} fits the others; where W0 is not square it fits B alone
     * ({@link #aNotFitted}).
     */
    public static Map<String, String> unfittable(LoraCheckpoint ckpt) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String module : ckpt.moduleNames()) {
            List<LoraModule> layers = ckpt.layersOf(module);
            if (layers.size() < 2) {
                out.put(module, layers.size() + " layer: a shared map needs at least two");
                continue;
            }
            for (LoraModule m : layers) {
                if (m.rank() != layers.get(0).rank()) {
                    out.put(module, "ranks " + layers.get(0).rank() + " and " + m.rank() + ": one shared map needs one"
                            + " rank");
                    break;
                }
            }
        }
        return out;
    }

    /**
     * Why a module's A (and so dW) has no CondLoRA fit, or null where it has one: A_l = Wa W0_l^T has A's shape only
     * where W0_l is square, which grouped-query attention's k and v projections are not. B_l = W0_l Wb^T has B's shape
     * for any W0, so such a module is fitted in B alone.
     */
    public static String aNotFitted(List<LoraModule> layers) {
        for (LoraModule m : layers) {
            if (m.out() != m.in()) {
                return "W0 is " + m.out() + "x" + m.in() + " at layer " + m.layer() + ", and CondLoRA's A_l = Wa W0_l^T"
                        + " needs a square W0 (B_l = W0_l Wb^T is fitted alone)";
            }
        }
        return null;
    }

    /** The modules {@link #unfittable} names, each with its reason: "k_proj (1 layer ...); v_proj (...)". */
    public static String describe(Map<String, String> unfittable) {
        return String.join("; ", unfittable.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue() + ")")
                .toList());
    }

    /**
     * One module's targets: the observed A^T and B of every layer, then for each draw the Gaussian null's (Gaussian
     * matrices of the same Frobenius norms, layer by layer) and the shuffled null's (each layer's A and B fitted
     * against another layer's W0, a random derangement of the layers), then the planted adapters' shared parts and
     * noises. Target set k of layer l is produced on demand, identically in both passes.
     */
    private static final class ModuleTargets {
        private final String module;
        private final List<LoraModule> layers;
        private final int draws;
        private final int plants;
        private final long seed;
        private final int[][] perms;
        /** Why A is not fitted (W0 not square: its targets are zero placeholders of the fit's shape), or null. */
        private final String aNotFitted;

        ModuleTargets(String module, List<LoraModule> layers, int draws, int plants, long seed, String aNotFitted) {
            this.module = module;
            this.aNotFitted = aNotFitted;
            this.layers = layers;
            this.draws = draws;
            this.plants = plants;
            this.seed = seed;
            SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, "condlora-shuffled", module));
            this.perms = new int[draws][];
            for (int d = 0; d < draws; d++) {
                perms[d] = derangement(rng, layers.size());
            }
        }

        /**
         * Target sets: observed, then draws Gaussian, then draws shuffled, then each plant's shared part, then each
         * plant's noise ({@link SharedLayerPlants}).
         */
        int sets() {
            return 1 + 2 * draws + 2 * plants;
        }

        /** Target sets judged as an adapter or a null draw: the observed one and the nulls'. */
        int judgedSets() {
            return 1 + 2 * draws;
        }

        /**
         * The A^T (even positions) and B (odd positions) of every target set at position {@code l}; {@code shared} is
         * W0_l times the plants' shared maps (null without plants).
         */
        List<Matrix> at(int l, Matrix shared) {
            LoraModule m = layers.get(l);
            int r = m.rank();
            // without a fit of A, its targets are zeros of the fit's shape: nothing to explain, so R^2 of A and dW's
            // error come out undefined, and B's fit is the stacked least squares of B alone (the columns are apart)
            Matrix none = aNotFitted == null ? null : Matrix.zeros(m.out(), r);
            List<Matrix> t = new ArrayList<>(2 * sets());
            t.add(none != null ? none : m.a().transpose());
            t.add(m.b());
            SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, "condlora-gaussian", module, m.layer()));
            double normA = m.a().frobeniusNorm();
            double normB = m.b().frobeniusNorm();
            for (int d = 0; d < draws; d++) {
                t.add(none != null ? none : RandomMatrices.gaussian(rng, m.in(), r, normA));
                t.add(RandomMatrices.gaussian(rng, m.out(), r, normB));
            }
            for (int d = 0; d < draws; d++) {
                LoraModule other = layers.get(perms[d][l]);
                t.add(none != null ? none : other.a().transpose());
                t.add(other.b());
            }
            for (int k = 0; k < plants; k++) {
                t.add(none != null ? none : shared.columnSlice(k * r, r));
                t.add(shared.columnSlice((plants + k) * r, r));
            }
            for (int k = 0; k < plants; k++) {
                t.add(SharedLayerPlants.unitNoise(seed, module, "A", m.layer(), k, t.get(2 * (judgedSets() + k))));
                t.add(SharedLayerPlants.unitNoise(seed, module, "B", m.layer(), k, t.get(2 * (judgedSets() + k) + 1)));
            }
            return t;
        }

        /** W0_l times the plants' shared maps, for every layer of a group (nulls without plants). */
        List<Matrix> shared(LinalgBackend backend, List<Matrix> w0s, Matrix maps) {
            return maps == null ? java.util.Collections.nCopies(w0s.size(), null)
                    : backend.gemm(w0s, false, java.util.Collections.nCopies(w0s.size(), maps), false, Precision.FP64);
        }

        ModuleFit fit(LinalgBackend backend, LayerStream stream, double ridge, IntConsumer groupDone)
                throws CheckpointException {
            int n = layers.get(0).in();
            int r = layers.get(0).rank();
            int width = 2 * sets() * r;
            Matrix gram = Matrix.zeros(n, n);
            Matrix rhs = Matrix.zeros(n, width); // S^T T of every target set, side by side
            Map<String, Double> timings = new HashMap<>();
            Matrix maps = plants == 0 ? null : SharedLayerPlants.sharedMaps(seed, module, n, r);
            stream.forEach(layers, timings, g -> {
                List<Matrix> shared = shared(backend, g.w0s(), maps);
                List<Matrix> targets = new ArrayList<>(g.layers().size());
                for (int k = 0; k < g.layers().size(); k++) {
                    targets.add(concat(at(g.from() + k, shared.get(k)), layers.get(0).out(), width));
                }
                List<Matrix> sq = backend.gemm(g.w0s(), true, g.w0s(), false, Precision.FP64);
                List<Matrix> st = backend.gemm(g.w0s(), true, targets, false, Precision.FP64);
                for (int k = 0; k < g.layers().size(); k++) {
                    addTo(gram, sq.get(k));
                    addTo(rhs, st.get(k));
                }
                groupDone.accept(g.layers().size());
            });
            Matrix solution = solveNormal(backend, gram, rhs, ridge, layers.size() * n);
            // residual sums per target set: [res A, tot A, res B, tot B, res dW, tot dW]
            double[][] acc = new double[judgedSets()][6];
            PlantSums planted = plants == 0 ? null : new PlantSums(r);
            List<LayerFit> perLayer = new ArrayList<>();
            stream.forEach(layers, timings, g -> {
                List<Matrix> fits = backend.gemm(g.w0s(), false, java.util.Collections.nCopies(g.layers().size(),
                        solution), false, Precision.FP64);
                List<Matrix> shared = shared(backend, g.w0s(), maps);
                for (int k = 0; k < g.layers().size(); k++) {
                    List<Matrix> t = at(g.from() + k, shared.get(k));
                    Matrix f = fits.get(k);
                    if (planted != null) {
                        planted.add(backend, t, f, judgedSets());
                    }
                    for (int set = 0; set < judgedSets(); set++) {
                        Matrix fa = f.columnSlice(2 * set * r, r);
                        Matrix fb = f.columnSlice((2 * set + 1) * r, r);
                        double[] ra = residual(fa, t.get(2 * set));
                        double[] rb = residual(fb, t.get(2 * set + 1));
                        double[] dw = productResidual(fb, fa.transpose(), t.get(2 * set + 1), t.get(2 * set).transpose());
                        double[] sums = {ra[0], ra[1], rb[0], rb[1], dw[0], dw[1]};
                        for (int q = 0; q < 6; q++) {
                            acc[set][q] += sums[q];
                        }
                        if (set == 0) {
                            perLayer.add(new LayerFit(g.layers().get(k).layer(), share(ra[0], ra[1]),
                                    share(rb[0], rb[1]), relative(dw[0], dw[1])));
                        }
                    }
                }
                groupDone.accept(g.layers().size());
            });
            Matrix wa = aNotFitted != null ? null : solution.columnSlice(0, r).transpose();
            Matrix wb = solution.columnSlice(r, r).transpose();
            // R^2 of unrelated targets: the share of a random target that the stacked W0s' column space (n of the
            // L out rows) takes, 1/L for a square W0
            double chance = Math.min(1, (double) n / ((long) layers.size() * layers.get(0).out()));
            return new ModuleFit(module, layers, wa, wb, perLayer, r2(acc[0], 0), r2(acc[0], 2),
                    relative(acc[0][4], acc[0][5]), nullOf("gaussian", acc, 1), nullOf("shuffled", acc, 1 + draws),
                    planted == null ? null : planted.result(), chance, ridge, aNotFitted);
        }

        private R2Null nullOf(String name, double[][] acc, int from) {
            double[] r2A = new double[draws];
            double[] r2B = new double[draws];
            double[] dw = new double[draws];
            for (int d = 0; d < draws; d++) {
                r2A[d] = r2(acc[from + d], 0);
                r2B[d] = r2(acc[from + d], 2);
                dw[d] = relative(acc[from + d][4], acc[from + d][5]);
            }
            return new R2Null(name, r2A, r2B, dw);
        }
    }

    /**
     * The plants' residual sums, layer by layer. A target P + eps N fitted as FP + eps FN leaves the residual
     * D + eps E (D = P - FP, E = N - FN), so R^2(eps) = 1 - (DD + 2 eps DE + eps^2 EE) / (PP + 2 eps PN + eps^2 NN)
     * from six sums per factor. The update's residual ||X Y - B A||^2, with every factor linear in eps, comes from
     * r x r products: ||XY||^2 = tr((X^T X)(Y Y^T)), <XY, BA> = tr((X^T B)(A Y^T)), whose parts are blocks of two
     * Gram matrices, of [X0 X1 B0 B1] and of [Y0^T Y1^T A0^T A1^T].
     */
    private static final class PlantSums {
        private final int r;
        private final int plants = SharedLayerPlants.REPETITIONS;
        private final double[][] sumsA = new double[plants][6];
        private final double[][] sumsB = new double[plants][6];
        private final double[][][] update = new double[SharedLayerPlants.NOISE.length][plants][2];

        PlantSums(int r) {
            this.r = r;
        }

        /** One layer: its targets {@code t} and fits {@code f} of every set, the plants' from {@code first} on. */
        void add(LinalgBackend backend, List<Matrix> t, Matrix f, int first) {
            List<Matrix> stacks = new ArrayList<>(2 * plants);
            for (int k = 0; k < plants; k++) {
                int s = first + k;
                int e = first + plants + k;
                Matrix pa = t.get(2 * s);
                Matrix pb = t.get(2 * s + 1);
                Matrix na = t.get(2 * e);
                Matrix nb = t.get(2 * e + 1);
                Matrix fpa = f.columnSlice(2 * s * r, r);
                Matrix fpb = f.columnSlice((2 * s + 1) * r, r);
                Matrix fna = f.columnSlice(2 * e * r, r);
                Matrix fnb = f.columnSlice((2 * e + 1) * r, r);
                accumulate(sumsA[k], pa, na, fpa, fna);
                accumulate(sumsB[k], pb, nb, fpb, fnb);
                stacks.add(Matrix.hstack(List.of(fpb, fnb, pb, nb)));
                stacks.add(Matrix.hstack(List.of(fpa, fna, pa, na)));
            }
            List<Matrix> grams = backend.gramOfColumns(stacks, Precision.FP64);
            for (int k = 0; k < plants; k++) {
                Matrix gu = grams.get(2 * k);
                Matrix gv = grams.get(2 * k + 1);
                for (int e = 0; e < SharedLayerPlants.NOISE.length; e++) {
                    double eps = SharedLayerPlants.NOISE[e];
                    double xy = trace(block(gu, 0, 0, eps), block(gv, 0, 0, eps));
                    double ba = trace(block(gu, 2, 2, eps), block(gv, 2, 2, eps));
                    double cross = trace(block(gu, 0, 2, eps), block(gv, 2, 0, eps));
                    update[e][k][0] += Math.max(0, xy + ba - 2 * cross);
                    update[e][k][1] += ba;
                }
            }
        }

        /** Adds [PP, PN, NN, DD, DE, EE] of one layer's target P + eps N and its fit FP + eps FN. */
        private static void accumulate(double[] sums, Matrix p, Matrix n, Matrix fp, Matrix fn) {
            double[] pd = p.data();
            double[] nd = n.data();
            double[] fpd = fp.data();
            double[] fnd = fn.data();
            for (int i = 0; i < pd.length; i++) {
                double d = pd[i] - fpd[i];
                double e = nd[i] - fnd[i];
                sums[0] += pd[i] * pd[i];
                sums[1] += pd[i] * nd[i];
                sums[2] += nd[i] * nd[i];
                sums[3] += d * d;
                sums[4] += d * e;
                sums[5] += e * e;
            }
        }

        /** (P0 + eps P1)^T (Q0 + eps Q1) from the Gram matrix g of [.. P0 P1 .. Q0 Q1 ..], P0 at block p, Q0 at q. */
        private Matrix block(Matrix g, int p, int q, double eps) {
            Matrix out = Matrix.zeros(r, r);
            for (int a = 0; a < r; a++) {
                for (int b = 0; b < r; b++) {
                    out.set(a, b, g.get(p * r + a, q * r + b) + eps * (g.get(p * r + a, (q + 1) * r + b)
                            + g.get((p + 1) * r + a, q * r + b)) + eps * eps * g.get((p + 1) * r + a, (q + 1) * r + b));
                }
            }
            return out;
        }

        /** tr(X Y) of two r x r matrices. */
        private static double trace(Matrix x, Matrix y) {
            double t = 0;
            for (int a = 0; a < x.rows(); a++) {
                for (int b = 0; b < x.cols(); b++) {
                    t += x.get(a, b) * y.get(b, a);
                }
            }
            return t;
        }

        SharedLayerPlants result() {
            double[] noise = SharedLayerPlants.NOISE;
            double[][] r2A = new double[noise.length][plants];
            double[][] r2B = new double[noise.length][plants];
            double[][] dw = new double[noise.length][plants];
            for (int e = 0; e < noise.length; e++) {
                for (int k = 0; k < plants; k++) {
                    r2A[e][k] = r2At(sumsA[k], noise[e]);
                    r2B[e][k] = r2At(sumsB[k], noise[e]);
                    dw[e][k] = Math.sqrt(update[e][k][0] / update[e][k][1]);
                }
            }
            return new SharedLayerPlants(noise.clone(), r2A, r2B, dw);
        }

        private static double r2At(double[] s, double eps) {
            return 1 - (s[3] + 2 * eps * s[4] + eps * eps * s[5]) / (s[0] + 2 * eps * s[1] + eps * eps * s[2]);
        }
    }

    private static double r2(double[] acc, int at) {
        return share(acc[at], acc[at + 1]);
    }

    /** R^2 = 1 - residual / total; undefined (NaN) for a zero target, which leaves nothing to explain. */
    private static double share(double residual, double total) {
        return total == 0 ? Double.NaN : 1 - residual / total;
    }

    /** sqrt(residual / total): the relative error of the update; undefined (NaN) for a zero update. */
    private static double relative(double residual, double total) {
        return total == 0 ? Double.NaN : Math.sqrt(residual / total);
    }

    /**
     * W^T = (G + lambda I)^-1 S^T T. When G + lambda I is well conditioned (cond_1 estimated below a tenth of
     * 1 / (max(rows, n) eps)), by its LU factors; otherwise from the eigendecomposition G = V diag(e) V^T (an SVD of the
     * symmetric G) as V h(e) V^T S^T T, with h(e) = 1 / (e + lambda), and for least squares directions whose e is below
     * max(rows, n) eps e_max, the resolution of G, dropped: the stacked system's pseudo-inverse.
     */
    static Matrix solveNormal(LinalgBackend backend, Matrix gram, Matrix rhs, double ridge, int stackedRows) {
        int n = gram.rows();
        double tol = Math.max(stackedRows, n) * Precision.FP64.epsilon();
        Matrix shifted = gram.copy();
        for (int i = 0; i < n; i++) {
            shifted.set(i, i, shifted.get(i, i) + ridge);
        }
        try {
            LuFactors lu = backend.lu(List.of(shifted), Precision.FP64).get(0);
            if (backend.conditionEstimate(lu, ConditionEstimate.oneNorm(shifted)) < 0.1 / tol) {
                return backend.luSolve(List.of(lu), List.of(rhs)).get(0);
            }
        } catch (SingularMatrixException rankDeficient) {
            // the pseudo-inverse below
        }
        Svd eig = backend.svd(List.of(gram), true, Precision.FP64).get(0);
        double[] e = eig.s();
        double cut = tol * (e.length == 0 ? 0 : e[0]);
        Matrix vtRhs = backend.gemm(List.of(eig.u()), true, List.of(rhs), false, Precision.FP64).get(0);
        for (int i = 0; i < e.length; i++) {
            double h = ridge > 0 ? 1 / (e[i] + ridge) : (e[i] > cut ? 1 / e[i] : 0);
            for (int j = 0; j < vtRhs.cols(); j++) {
                vtRhs.set(i, j, vtRhs.get(i, j) * h);
            }
        }
        return backend.gemm(List.of(eig.u()), false, List.of(vtRhs), false, Precision.FP64).get(0);
    }

    private static void addTo(Matrix sum, Matrix term) {
        double[] s = sum.data();
        double[] t = term.data();
        for (int i = 0; i < s.length; i++) {
            s[i] += t[i];
        }
    }

    /** The matrices (each n rows) side by side. */
    private static Matrix concat(List<Matrix> parts, int rows, int width) {
        Matrix out = Matrix.zeros(rows, width);
        int off = 0;
        for (Matrix m : parts) {
            System.arraycopy(m.data(), 0, out.data(), off, m.data().length);
            off += m.data().length;
        }
        return out;
    }

    static int[] derangement(SplittableRandom rng, int n) {
        int[] p = new int[n];
        while (true) {
            for (int i = 0; i < n; i++) {
                p[i] = i;
            }
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            boolean fixed = false;
            for (int i = 0; i < n; i++) {
                fixed |= p[i] == i;
            }
            if (!fixed) {
                return p;
            }
        }
    }

    /** [||fit - target||^2, ||target||^2]. */
    private static double[] residual(Matrix fit, Matrix target) {
        double res = 0;
        double tot = 0;
        double[] f = fit.data();
        double[] t = target.data();
        for (int i = 0; i < f.length; i++) {
            res += (f[i] - t[i]) * (f[i] - t[i]);
            tot += t[i] * t[i];
        }
        return new double[] {res, tot};
    }

    /**
     * [||X Y - B A||^2, ||B A||^2] for X, B [n, r] and Y, A [r, n], from r x r products: ||XY - BA||^2 = ||XY||^2 +
     * ||BA||^2 - 2 trace((X^T B)(A Y^T)).
     */
    static double[] productResidual(Matrix x, Matrix y, Matrix b, Matrix a) {
        double xy = Norms.productFrobenius(x, y);
        double ba = Norms.productFrobenius(b, a);
        int r = x.cols();
        double tr = 0;
        for (int p = 0; p < r; p++) {
            for (int q = 0; q < r; q++) {
                double xtb = 0; // (X^T B)[p, q]
                for (int i = 0; i < x.rows(); i++) {
                    xtb += x.get(i, p) * b.get(i, q);
                }
                double ayt = 0; // (A Y^T)[q, p]
                for (int k = 0; k < a.cols(); k++) {
                    ayt += a.get(q, k) * y.get(p, k);
                }
                tr += xtb * ayt;
            }
        }
        return new double[] {Math.max(0, xy * xy + ba * ba - 2 * tr), ba * ba};
    }
}
