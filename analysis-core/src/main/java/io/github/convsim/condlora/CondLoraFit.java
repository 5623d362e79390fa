package io.github.convsim.condlora;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Norms;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.similarity.RandomMatrices;
import io.github.convsim.similarity.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Fits CondLoRA's single linear layer to any LoRA: for each module, the shared Wa, Wb [r, in] minimising
 * sum_l ||W0_l Wa^T - A_l^T||^2 (and likewise W0_l Wb^T against B_l), plus lambda ||W||^2 for ridge. Stacking the
 * layers, S = [W0_1; ...; W0_L] and T = [A_1^T; ...; A_L^T], this is one least-squares problem S Wa^T = T, solved
 * from the thin SVD S = U diag(s) V^T as Wa^T = V diag(s / (s^2 + lambda)) U^T T. The SVD is computed once per module
 * and serves the observed fit and every null draw.
 */
public final class CondLoraFit {
    private CondLoraFit() {}

    public static List<ModuleFit> fit(LoraCheckpoint ckpt, LinalgBackend backend, double ridge, int draws, long seed)
            throws CheckpointException {
        if (!(ridge >= 0) || Double.isInfinite(ridge)) {
            throw new IllegalArgumentException("ridge must be a finite non-negative number, got " + ridge);
        }
        if (draws < 2) {
            throw new IllegalArgumentException("the nulls need at least 2 draws, got " + draws);
        }
        List<ModuleFit> out = new ArrayList<>();
        for (String module : ckpt.moduleNames()) {
            List<LoraModule> layers = ckpt.layersOf(module);
            if (layers.size() < 2) {
                throw new IllegalArgumentException("module " + module + " has " + layers.size()
                        + " layer: a shared map needs at least two");
            }
            List<Matrix> w0s = new ArrayList<>();
            for (LoraModule m : layers) {
                Matrix w = ckpt.baseWeight(m);
                if (w.rows() != w.cols()) {
                    throw new IllegalArgumentException("module " + module + " layer " + m.layer() + ": W0 is "
                            + w.shapeString() + "; CondLoRA's A_l = Wa W0_l^T needs a square W0");
                }
                w0s.add(w);
            }
            out.add(fitModule(backend, module, layers, w0s, ridge, draws, seed));
        }
        return out;
    }

    static ModuleFit fitModule(LinalgBackend backend, String module, List<LoraModule> layers, List<Matrix> w0s,
                               double ridge, int draws, long seed) {
        Stack stack = new Stack(backend, w0s, ridge);
        List<Matrix> as = layers.stream().map(m -> m.a().transpose()).toList();
        List<Matrix> bs = layers.stream().map(LoraModule::b).toList();
        Matrix waT = stack.solve(as);
        Matrix wbT = stack.solve(bs);
        List<LayerFit> perLayer = new ArrayList<>();
        double resA = 0;
        double totA = 0;
        double resB = 0;
        double totB = 0;
        double resDW = 0;
        double totDW = 0;
        List<Matrix> fitA = stack.apply(waT);
        List<Matrix> fitB = stack.apply(wbT);
        for (int l = 0; l < layers.size(); l++) {
            double[] ra = residual(fitA.get(l), as.get(l));
            double[] rb = residual(fitB.get(l), bs.get(l));
            double[] dw = productResidual(fitB.get(l), fitA.get(l).transpose(), bs.get(l), layers.get(l).a());
            perLayer.add(new LayerFit(layers.get(l).layer(), 1 - ra[0] / ra[1], 1 - rb[0] / rb[1],
                    Math.sqrt(dw[0] / dw[1])));
            resA += ra[0];
            totA += ra[1];
            resB += rb[0];
            totB += rb[1];
            resDW += dw[0];
            totDW += dw[1];
        }
        R2Null gaussian = gaussianNull(stack, as, bs, draws, seed, module);
        R2Null shuffled = shuffledNull(stack, as, bs, draws, seed, module);
        return new ModuleFit(module, layers, waT.transpose(), wbT.transpose(), perLayer, 1 - resA / totA,
                1 - resB / totB, Math.sqrt(resDW / totDW), gaussian, shuffled, 1.0 / layers.size(), ridge);
    }

    /** Targets replaced by Gaussian matrices of the same Frobenius norms, layer by layer. */
    private static R2Null gaussianNull(Stack stack, List<Matrix> as, List<Matrix> bs, int draws, long seed,
                                       String module) {
        SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, "condlora-gaussian", module));
        return sampleNull("gaussian", stack, draws, () -> {
            List<Matrix> ga = new ArrayList<>();
            List<Matrix> gb = new ArrayList<>();
            for (int l = 0; l < as.size(); l++) {
                ga.add(gaussianLike(rng, as.get(l)));
                gb.add(gaussianLike(rng, bs.get(l)));
            }
            return new Targets(ga, gb);
        });
    }

    /** Each layer's targets fitted against another layer's W0 (a random derangement of the layers). */
    private static R2Null shuffledNull(Stack stack, List<Matrix> as, List<Matrix> bs, int draws, long seed,
                                       String module) {
        SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, "condlora-shuffled", module));
        return sampleNull("shuffled", stack, draws, () -> {
            int[] perm = derangement(rng, as.size());
            List<Matrix> pa = new ArrayList<>();
            List<Matrix> pb = new ArrayList<>();
            for (int l = 0; l < as.size(); l++) {
                pa.add(as.get(perm[l]));
                pb.add(bs.get(perm[l]));
            }
            return new Targets(pa, pb);
        });
    }

    /** One null draw's targets: A (transposed) and B of every layer. */
    private record Targets(List<Matrix> aT, List<Matrix> b) {}

    /** R^2 of A and B and the dW error of the fit, for {@code draws} draws of targets. */
    private static R2Null sampleNull(String name, Stack stack, int draws, Supplier<Targets> draw) {
        double[] r2A = new double[draws];
        double[] r2B = new double[draws];
        double[] dw = new double[draws];
        for (int d = 0; d < draws; d++) {
            Targets t = draw.get();
            double[] r = evaluate(stack, t.aT(), t.b());
            r2A[d] = r[0];
            r2B[d] = r[1];
            dw[d] = r[2];
        }
        return new R2Null(name, r2A, r2B, dw);
    }

    /** Overall R^2 of A, of B, and the dW error of a fit to the given targets (A given transposed). */
    private static double[] evaluate(Stack stack, List<Matrix> aT, List<Matrix> b) {
        List<Matrix> fa = stack.apply(stack.solve(aT));
        List<Matrix> fb = stack.apply(stack.solve(b));
        double[] acc = new double[6];
        for (int l = 0; l < aT.size(); l++) {
            double[] ra = residual(fa.get(l), aT.get(l));
            double[] rb = residual(fb.get(l), b.get(l));
            double[] dw = productResidual(fb.get(l), fa.get(l).transpose(), b.get(l), aT.get(l).transpose());
            acc[0] += ra[0];
            acc[1] += ra[1];
            acc[2] += rb[0];
            acc[3] += rb[1];
            acc[4] += dw[0];
            acc[5] += dw[1];
        }
        return new double[] {1 - acc[0] / acc[1], 1 - acc[2] / acc[3], Math.sqrt(acc[4] / acc[5])};
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

    private static Matrix gaussianLike(SplittableRandom rng, Matrix like) {
        return RandomMatrices.gaussian(rng, like.rows(), like.cols(), like.frobeniusNorm());
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

    /** The stacked system S = [W0_1; ...; W0_L] and its thin SVD. */
    static final class Stack {
        private final LinalgBackend backend;
        private final List<Matrix> w0s;
        private final Matrix u;
        private final Matrix vt;
        private final double[] filter;
        private final int n;

        Stack(LinalgBackend backend, List<Matrix> w0s, double ridge) {
            this.backend = backend;
            this.w0s = w0s;
            this.n = w0s.get(0).cols();
            int rows = w0s.stream().mapToInt(Matrix::rows).sum();
            Matrix s = Matrix.zeros(rows, n);
            int off = 0;
            for (Matrix w : w0s) {
                for (int j = 0; j < n; j++) {
                    System.arraycopy(w.data(), j * w.rows(), s.data(), off + j * rows, w.rows());
                }
                off += w.rows();
            }
            Svd svd = backend.svd(List.of(s), true, Precision.FP64).get(0);
            this.u = svd.u();
            this.vt = svd.vt();
            double[] sv = svd.s();
            double cut = Math.max(rows, n) * Precision.FP64.epsilon() * (sv.length == 0 ? 0 : sv[0]);
            this.filter = new double[sv.length];
            for (int i = 0; i < sv.length; i++) {
                filter[i] = ridge > 0 ? sv[i] / (sv[i] * sv[i] + ridge) : (sv[i] > cut ? 1 / sv[i] : 0);
            }
        }

        /** W^T = V f(S) U^T T for the stacked targets T = [T_1; ...; T_L]. */
        Matrix solve(List<Matrix> targets) {
            int r = targets.get(0).cols();
            int rows = u.rows();
            Matrix t = Matrix.zeros(rows, r);
            int off = 0;
            for (Matrix m : targets) {
                for (int j = 0; j < r; j++) {
                    System.arraycopy(m.data(), j * m.rows(), t.data(), off + j * rows, m.rows());
                }
                off += m.rows();
            }
            Matrix utt = backend.gemm(List.of(u), true, List.of(t), false, Precision.FP64).get(0);
            for (int j = 0; j < r; j++) {
                for (int i = 0; i < filter.length; i++) {
                    utt.set(i, j, utt.get(i, j) * filter[i]);
                }
            }
            return backend.gemm(List.of(vt), true, List.of(utt), false, Precision.FP64).get(0);
        }

        /** W0_l W^T for every layer. */
        List<Matrix> apply(Matrix wT) {
            List<Matrix> ws = new ArrayList<>();
            for (int l = 0; l < w0s.size(); l++) {
                ws.add(wT);
            }
            return backend.gemm(w0s, false, ws, false, Precision.FP64);
        }
    }
}
