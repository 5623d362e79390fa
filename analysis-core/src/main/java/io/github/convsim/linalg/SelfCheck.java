package io.github.convsim.linalg;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * A seeded known-answer check of a {@link LinalgBackend}, run when the backend is created and before any number is
 * computed with it. Every routine convsim calls runs at sizes above OpenBLAS's small-matrix path (about 100^3 flops)
 * and multithreading threshold and above LAPACK's blocking crossovers, where OpenBLAS 0.3.19's AVX-512 kernels went
 * wrong (upstream issue 3505, from n of about 40). Each runs in FP64 and FP32, as a batch on parallel callers (each with
 * one BLAS thread, the path of every small problem) and as a lone problem with every BLAS thread (where the backend has
 * such a variant; as a lone problem otherwise). Each result is judged in plain Java ({@link ReferenceArithmetic})
 * against a bound that correct arithmetic meets with a wide margin (the report keeps the worst fraction of its bound)
 * and wrong kernels miss by orders of magnitude. Errors are in units of sqrt(n) eps, how rounding errors grow in
 * practice (Higham and Mary's probabilistic analysis), not the worst case n eps, which would let an fp32 fault of a
 * percent in one element through:
 *
 * <ul>
 *   <li>gemm 256 x 256 x 256 and A^T B (256 x 256 x 64), and the Gram matrix A^T A of a 256 x 64 A (syrk):
 *       |C x - A (B x)| <= 30 sqrt(k) eps |A| |B| |x| in every component, x random;
 *   <li>getrf + getrs, n = 128, 8 right-hand sides (and a backend's own one-call solveSquare): the normwise backward
 *       error ||A X - B||_F / (||A||_F ||X||_F + ||B||_F) below 100 eps;
 *   <li>gesdd 48 x 48 and 96 x 40, with and without vectors: ||A x - U S V^T x||, ||U^T U z - z||, ||V^T V z - z||
 *       within 30 sqrt(n) eps (relative), x and z random; singular values non-negative, descending, and the same with and
 *       without vectors;
 *   <li>geqrf + orgqr 320 x 160 (blocked: min(m, n) above LAPACK's crossover of 128): ||Q^T Q x - x|| and
 *       ||A x - Q Q^T A x|| within 30 sqrt(m) eps (relative), x random;
 *   <li>gecon, n = 64 (FP64): the estimate in [cond_1 / 3, cond_1], cond_1 from an inverse computed in plain Java.
 * </ul>
 *
 * <p>Measured reach: correct OpenBLAS 0.3.31 stays below 5 % of every bound; a fault in one element of one result is
 * caught from 1e-8 of the result's largest element in FP64 and from about 2 % in FP32 (5 % in every case); the real
 * bug's errors were O(1).
 */
public final class SelfCheck {
    /**
     * The outcome: which cases failed (empty when it passed), how many were run, how long they took, and the worst
     * error of all as a fraction of its bound (far below 1 on correct arithmetic).
     */
    public record Report(List<String> failures, int cases, double millis, double worstFractionOfBound) {
        public Report {
            failures = List.copyOf(failures);
        }

        public boolean passed() {
            return failures.isEmpty();
        }

        /** The first failure, with the count of the others. */
        public String firstFailure() {
            return failures.isEmpty() ? "" : failures.get(0)
                    + (failures.size() > 1 ? " (and " + (failures.size() - 1) + " more)" : "");
        }
    }

    /** One problem's error as a multiple of its unit (sqrt(k) eps |A||B||x|, eps...), and what was measured. */
    private record Finding(double ratio, String what) {
        static final Finding NONE = new Finding(0, "");

        /** NaN (a NaN anywhere in a result) counts as infinitely wrong. */
        static Finding of(double error, double unit, String what) {
            return new Finding(ReferenceArithmetic.ratio(error, unit), what);
        }
    }

    private static final long SEED = 0x5EEDC0DEL;
    /** Bound on error / (sqrt(size) eps x norms); LAPACK's own test programs use 30 on error / (eps x norms). */
    private static final double BOUND = 30;
    /** Bound on the normwise backward error of an LU solve, in eps. */
    private static final double BACKWARD_ERROR_BOUND = 100;

    private final List<String> failures = new ArrayList<>();
    private int cases;
    private double worstFraction;

    private SelfCheck() {}

    /**
     * Runs every case on {@code backend} as a batch of {@code parallelCallers} problems (at least 2), and lone on
     * {@code allThreads}: the same arithmetic computing one problem with every BLAS thread, or null where the backend
     * has no such variant (then lone on {@code backend}).
     */
    public static Report run(LinalgBackend backend, LinalgBackend allThreads, int parallelCallers) {
        long t0 = System.nanoTime();
        SelfCheck check = new SelfCheck();
        int batch = Math.max(2, parallelCallers);
        Problems problems = new Problems(batch);
        // The threaded mode runs last: OpenBLAS's idle workers spin for a while after a threaded call and would slow
        // single-threaded calls on a machine with few cores.
        for (Precision p : Precision.values()) {
            check.all(backend, p, problems, batch, batch + " problems on parallel callers, 1 BLAS thread each");
        }
        for (Precision p : Precision.values()) {
            if (allThreads != null) {
                check.all(allThreads, p, problems, 1, "one problem on all BLAS threads");
            } else {
                check.all(backend, p, problems, 1, "one problem");
            }
        }
        return new Report(check.failures, check.cases, (System.nanoTime() - t0) / 1e6, check.worstFraction);
    }

    private void all(LinalgBackend b, Precision p, Problems problems, int count, String mode) {
        String d = p == Precision.FP64 ? "d" : "s";
        String where = " " + p.name().toLowerCase() + ", " + mode;
        Problems.Set in = problems.in(p);
        run(d + "gemm 256^3" + where, BOUND, () -> gemm(b, p, in.gemmA(), in.gemmB(), false, count));
        run(d + "gemm A^T B 256x256x64" + where, BOUND, () -> gemm(b, p, in.gemmA(), in.gemmThin(), true, count));
        run(d + "syrk A^T A 64x64x256" + where, BOUND, () -> gram(b, p, in.gemmThin(), count));
        run(d + "getrf+getrs n=128" + where, BACKWARD_ERROR_BOUND, () -> luSolve(b, p, in, count, false));
        if (ownsSolveSquare(b)) {
            run(d + "solve (one call) n=128" + where, BACKWARD_ERROR_BOUND, () -> luSolve(b, p, in, count, true));
        }
        run(d + "gesdd 48x48" + where, BOUND, () -> svd(b, p, in.square48(), count));
        run(d + "gesdd 96x40" + where, BOUND, () -> svd(b, p, in.tall96(), count));
        run(d + "geqrf+orgqr 320x160" + where, BOUND, () -> qr(b, p, in.qr(), count));
        if (p == Precision.FP64) {
            run("dgecon n=64" + where, 1, () -> gecon(b, problems, count));
        }
    }

    /** Whether the backend solves in one call by its own path (the GPU), not by the interface's lu then luSolve. */
    private static boolean ownsSolveSquare(LinalgBackend b) {
        try {
            return b.getClass().getMethod("solveSquare", List.class, List.class, Precision.class).getDeclaringClass()
                    != LinalgBackend.class;
        } catch (NoSuchMethodException e) {
            return true;
        }
    }

    /**
     * Runs one case and records it as failed when its worst finding exceeds {@code bound}, or when it throws
     * (LAPACK's NaN check, a crash in a kernel).
     */
    private void run(String name, double bound, Supplier<Finding> check) {
        cases++;
        try {
            Finding worst = check.get();
            worstFraction = Math.max(worstFraction, worst.ratio() / bound);
            if (!(worst.ratio() <= bound)) {
                failures.add(String.format(Locale.ROOT, "%s: %s is %.3g (bound %.3g)", name, worst.what(),
                        worst.ratio(), bound));
            }
        } catch (RuntimeException e) {
            worstFraction = Double.POSITIVE_INFINITY;
            failures.add(name + ": failed with " + (e.getMessage() == null ? e.getClass().getSimpleName()
                    : e.getMessage()));
        }
    }

    /** The worst finding over the batch's problems, each verified on its own thread. */
    private static Finding worst(int count, IntFunction<Finding> one) {
        return IntStream.range(0, count).parallel().mapToObj(one)
                .max(Comparator.comparingDouble(Finding::ratio)).orElse(Finding.NONE);
    }

    private static Finding gemm(LinalgBackend b, Precision p, List<Matrix> as, List<Matrix> bs, boolean transA,
                                int count) {
        return product(p, as, bs, transA, b.gemm(as.subList(0, count), transA, bs.subList(0, count), false, p));
    }

    /** The Gram matrices A^T A (syrk) of the thin gemm case's A, judged as the product A^T A. */
    private static Finding gram(LinalgBackend b, Precision p, List<Matrix> as, int count) {
        return product(p, as, as, true, b.gramOfColumns(as.subList(0, count), p));
    }

    /** How far each computed C is from op(A) B, probed with a random x. */
    private static Finding product(Precision p, List<Matrix> as, List<Matrix> bs, boolean transA, List<Matrix> c) {
        return worst(c.size(), k -> {
            Matrix a = as.get(k);
            Matrix y = bs.get(k);
            double[] x = probe(y.cols(), k);
            double[] reference = ReferenceArithmetic.apply(a, transA, ReferenceArithmetic.apply(y, false, x));
            double[] got = ReferenceArithmetic.apply(c.get(k), false, x);
            // componentwise: |C - A B| <= gamma |A| |B| (Higham, Accuracy and Stability, section 3.5), so
            // |C x - A B x|_i <= sqrt(k) eps (|A| |B| |x|)_i with the probabilistic sqrt(k) for gamma
            double[] bound = ReferenceArithmetic.apply(abs(a), transA, ReferenceArithmetic.apply(abs(y), false, abs(x)));
            double unit = Math.sqrt(transA ? a.rows() : a.cols()) * p.epsilon();
            Finding worst = Finding.NONE;
            for (int i = 0; i < got.length; i++) {
                worst = max(worst, Finding.of(Math.abs(got[i] - reference[i]), unit * bound[i],
                        "|C x - A (B x)|_i / (sqrt(k) eps (|A| |B| |x|)_i)"));
            }
            return worst;
        });
    }

    private static Finding luSolve(LinalgBackend b, Precision p, Problems.Set in, int count, boolean oneCall) {
        List<Matrix> as = in.lu().subList(0, count);
        List<Matrix> rhs = in.rhs().subList(0, count);
        List<Matrix> xs = oneCall ? b.solveSquare(as, rhs, p) : b.luSolve(b.lu(as, p), rhs);
        return worst(count, k -> {
            Matrix a = as.get(k);
            Matrix x = xs.get(k);
            Matrix r = rhs.get(k);
            double residual = 0;
            for (int j = 0; j < x.cols(); j++) {
                double[] ax = ReferenceArithmetic.apply(a, false, ReferenceArithmetic.column(x, j));
                double d = ReferenceArithmetic.distance(ax, ReferenceArithmetic.column(r, j));
                residual += d * d;
            }
            return Finding.of(Math.sqrt(residual), p.epsilon() * (fro(a) * fro(x) + fro(r)),
                    "backward error / eps");
        });
    }

    private static Finding svd(LinalgBackend b, Precision p, List<Matrix> as, int count) {
        List<Matrix> batch = as.subList(0, count);
        List<Svd> full = b.svd(batch, true, p);
        List<Svd> values = b.svd(batch, false, p);
        return worst(count, k -> {
            Matrix a = batch.get(k);
            Svd s = full.get(k);
            double[] sv = s.s();
            double unit = Math.sqrt(Math.max(a.rows(), a.cols())) * p.epsilon();
            for (int i = 0; i < sv.length; i++) {
                if (!(sv[i] >= 0) || (i > 0 && !(sv[i] <= sv[i - 1]))) {
                    return new Finding(Double.POSITIVE_INFINITY, "disorder of the singular values");
                }
            }
            Finding worst = Finding.NONE;
            for (int i = 0; i < sv.length; i++) {
                worst = max(worst, Finding.of(Math.abs(sv[i] - values.get(k).s()[i]), unit * sv[0],
                        "|s_i with vectors - s_i without| / (sqrt(n) eps s_max)"));
            }
            double[] x = probe(a.cols(), k);
            double[] z = probe(sv.length, k + 1);
            double[] svtx = ReferenceArithmetic.apply(s.vt(), false, x);
            for (int i = 0; i < svtx.length; i++) {
                svtx[i] *= sv[i];
            }
            worst = max(worst, Finding.of(ReferenceArithmetic.distance(ReferenceArithmetic.apply(s.u(), false, svtx),
                    ReferenceArithmetic.apply(a, false, x)), unit * fro(a) * ReferenceArithmetic.norm2(x),
                    "|A x - U S V^T x| / (sqrt(n) eps |A| |x|)"));
            worst = max(worst, Finding.of(ReferenceArithmetic.orthonormalityDefect(s.u(), z),
                    unit * ReferenceArithmetic.norm2(z), "|U^T U z - z| / (sqrt(n) eps |z|)"));
            return max(worst, Finding.of(ReferenceArithmetic.orthonormalityDefect(s.vt().transpose(), z),
                    unit * ReferenceArithmetic.norm2(z), "|V^T V z - z| / (sqrt(n) eps |z|)"));
        });
    }

    private static Finding qr(LinalgBackend b, Precision p, List<Matrix> as, int count) {
        List<Matrix> qs = b.orthonormalBasis(as.subList(0, count), p);
        return worst(count, k -> {
            Matrix a = as.get(k);
            Matrix q = qs.get(k);
            double unit = Math.sqrt(a.rows()) * p.epsilon();
            double[] x = probe(q.cols(), k);
            Finding ortho = Finding.of(ReferenceArithmetic.orthonormalityDefect(q, x),
                    unit * ReferenceArithmetic.norm2(x), "|Q^T Q x - x| / (sqrt(m) eps |x|)");
            double[] y = ReferenceArithmetic.apply(a, false, x);
            double[] projected = ReferenceArithmetic.apply(q, false, ReferenceArithmetic.apply(q, true, y));
            return max(ortho, Finding.of(ReferenceArithmetic.distance(projected, y),
                    unit * fro(a) * ReferenceArithmetic.norm2(x), "|A x - Q Q^T A x| / (sqrt(m) eps |A| |x|)"));
        });
    }

    /** The ratio of the gecon estimate to the nearest end of [cond_1 / 3, cond_1]: 1 inside, more outside. */
    private static Finding gecon(LinalgBackend b, Problems problems, int count) {
        List<Matrix> as = problems.gecon.subList(0, count);
        List<LuFactors> lus = b.lu(as, Precision.FP64);
        return worst(count, k -> {
            Matrix a = as.get(k);
            double norm1 = ConditionEstimate.oneNorm(a);
            double estimate = b.conditionEstimate(lus.get(k), norm1);
            double exact = norm1 * ConditionEstimate.oneNorm(problems.inverse(k));
            double off = estimate > exact ? estimate / exact : estimate < exact / 3 ? exact / 3 / estimate : 1;
            // in units of a relative 1e-6: far above the rounding in the estimate, far below any kernel fault
            return Finding.of(off - 1, 1e-6, "relative distance of the estimate from [cond_1 / 3, cond_1] / 1e-6");
        });
    }

    private static Finding max(Finding a, Finding b) {
        return b.ratio() > a.ratio() ? b : a;
    }

    private static Matrix abs(Matrix a) {
        return new Matrix(a.rows(), a.cols(), abs(a.data()));
    }

    private static double[] abs(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.abs(v[i]);
        }
        return out;
    }

    /** ||A||_F as a plain sum of squares (the inputs here are in [-1, 1]). */
    private static double fro(Matrix a) {
        return ReferenceArithmetic.norm2(a.data());
    }

    private static double[] probe(int n, int salt) {
        return ReferenceArithmetic.probe(n, SEED + 7919L * salt + n);
    }

    /** The seeded inputs, one per parallel caller, made once; FP32 cases get them rounded to float, as computed. */
    private static final class Problems {
        record Set(List<Matrix> gemmA, List<Matrix> gemmB, List<Matrix> gemmThin, List<Matrix> lu, List<Matrix> rhs,
                   List<Matrix> square48, List<Matrix> tall96, List<Matrix> qr) {
            Set rounded() {
                return new Set(round(gemmA), round(gemmB), round(gemmThin), round(lu), round(rhs), round(square48),
                        round(tall96), round(qr));
            }

            private static List<Matrix> round(List<Matrix> ms) {
                return ms.stream().map(Matrix::roundedToFloat).toList();
            }
        }

        private final Set fp64;
        private final Set fp32;
        final List<Matrix> gecon;
        private final Matrix[] inverses;

        Problems(int count) {
            SplittableRandom rnd = new SplittableRandom(SEED);
            fp64 = new Set(make(count, rnd, 256, 256), make(count, rnd, 256, 256), make(count, rnd, 256, 64),
                    make(count, rnd, 128, 128), make(count, rnd, 128, 8), make(count, rnd, 48, 48),
                    make(count, rnd, 96, 40), make(count, rnd, 320, 160));
            fp32 = fp64.rounded();
            gecon = make(count, rnd, 64, 64);
            inverses = new Matrix[count];
        }

        Set in(Precision p) {
            return p == Precision.FP64 ? fp64 : fp32;
        }

        /** A^-1 of the k-th gecon problem by Gauss-Jordan elimination with partial pivoting, in plain Java. */
        synchronized Matrix inverse(int k) {
            if (inverses[k] == null) {
                inverses[k] = gaussJordanInverse(gecon.get(k));
            }
            return inverses[k];
        }

        private static List<Matrix> make(int count, SplittableRandom rnd, int rows, int cols) {
            List<Matrix> out = new ArrayList<>(count);
            for (int k = 0; k < count; k++) {
                double[] d = new double[rows * cols];
                for (int i = 0; i < d.length; i++) {
                    d[i] = rnd.nextDouble(-1, 1);
                }
                out.add(new Matrix(rows, cols, d));
            }
            return List.copyOf(out);
        }
    }

    static Matrix gaussJordanInverse(Matrix a) {
        int n = a.rows();
        double[][] w = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                w[i][j] = a.get(i, j);
            }
            w[i][n + i] = 1;
        }
        for (int c = 0; c < n; c++) {
            int pivot = c;
            for (int i = c + 1; i < n; i++) {
                if (Math.abs(w[i][c]) > Math.abs(w[pivot][c])) {
                    pivot = i;
                }
            }
            double[] t = w[c];
            w[c] = w[pivot];
            w[pivot] = t;
            double inv = 1 / w[c][c];
            for (int j = 0; j < 2 * n; j++) {
                w[c][j] *= inv;
            }
            for (int i = 0; i < n; i++) {
                double f = w[i][c];
                if (i != c && f != 0) {
                    double[] row = w[i];
                    double[] prow = w[c];
                    for (int j = c; j < 2 * n; j++) {
                        row[j] -= f * prow[j];
                    }
                }
            }
        }
        Matrix out = Matrix.zeros(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                out.set(i, j, w[i][n + j]);
            }
        }
        return out;
    }
}
