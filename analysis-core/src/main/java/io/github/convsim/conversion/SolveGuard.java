package io.github.convsim.conversion;

import io.github.convsim.linalg.ArithmeticCheckException;
import io.github.convsim.linalg.ArithmeticInfo;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.ReferenceArithmetic;
import io.github.convsim.linalg.Svd;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.DoubleAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.IntStream;

/**
 * Checks every conversion solve in plain Java before its numbers are used, so that a backend whose kernels go wrong
 * during an analysis (after passing its {@link io.github.convsim.linalg.SelfCheck}, or at sizes the check does not
 * reach) stops the run instead of producing a report. Each check multiplies by a seeded random vector z, which mixes
 * every column (Freivalds' technique: a wrong column changes the product for almost every z), and costs O(n k), never
 * O(n^3). Errors are measured in units of n eps, the worst-case growth: the guard runs on users' matrices of any size
 * and conditioning, where pivot growth varies (4.3 sqrt(n) eps was measured on BERT's query weights), and a false alarm
 * would stop a correct analysis. Correct arithmetic stays far below 1 of these units; the run stops above 30. The
 * {@link io.github.convsim.linalg.SelfCheck}, on controlled inputs, is the sensitive instrument:
 *
 * <ul>
 *   <li>LU (paper mode): x = X z, t = T z; the residual r = W0 x - t on 64 evenly spaced rows gives the normwise
 *       backward error eta = sqrt(n / 64) ||r_rows|| / (||W0||_F ||x|| + ||t||). Partial pivoting keeps eta near eps
 *       whatever cond(W0) is (the relative residual ||r|| / ||t|| stays below cond(W0) eta), and an error in X shows
 *       on every row, since W0 is dense and invertible. Bound: eta <= 30 n eps.
 *   <li>SVD modes: at factor time, W0 V z = U S z, W0^T U z = V S z and U^T U z = z, V^T V z = z, within 30 n eps
 *       (relative to s_max ||z||); at solve time, X z is recomputed as V f(S) U^T (T z) (or U f(S) V^T (T z)) on every
 *       row and agrees within 30 n eps (||f(S) U^T T z|| + max f ||T z||).
 * </ul>
 *
 * The worst ratio to its bound is kept for provenance.
 */
final class SolveGuard {
    static final double BOUND = 30;
    private static final int ROWS = 64;
    private static final long SEED = 0x9A4D5EEDL;

    private final LinalgBackend backend;
    private final LongAdder checks = new LongAdder();
    private final DoubleAccumulator worst = new DoubleAccumulator(Math::max, 0);

    SolveGuard(LinalgBackend backend) {
        this.backend = backend;
    }

    /** Checks made so far. */
    long checks() {
        return checks.sum();
    }

    /** The largest error seen, as a multiple of n eps (the bound is {@link #BOUND}). */
    double worstRatio() {
        return worst.get();
    }

    /**
     * X with W0 X = T by LU: the row-sampled backward error of X z. The layers are checked on every core (the BLAS
     * pool waits for the guard), then judged in layer order.
     */
    void checkLuSolutions(List<W0System> systems, List<Matrix> targets, List<Matrix> solutions, Precision p) {
        double[] eta = new double[systems.size()];
        IntStream.range(0, systems.size()).parallel().forEach(k -> {
            W0System s = systems.get(k);
            Matrix w0 = s.w0();
            int n = w0.rows();
            double[] z = probe(solutions.get(k).cols(), k);
            double[] x = ReferenceArithmetic.apply(solutions.get(k), false, z);
            double[] t = ReferenceArithmetic.apply(targets.get(k), false, z);
            int[] rows = sampleRows(n);
            double[] w0x = rowsTimes(w0, rows, x);
            double r2 = 0;
            for (int q = 0; q < rows.length; q++) {
                double ri = w0x[q] - t[rows[q]];
                r2 += ri * ri;
            }
            // a zero residual is exact (an untrained adapter's B = 0 gives X = 0), whatever the norms
            eta[k] = r2 == 0 ? 0 : Math.sqrt(r2 * n / rows.length)
                    / (s.frobeniusNorm() * ReferenceArithmetic.norm2(x) + ReferenceArithmetic.norm2(t));
        });
        for (int k = 0; k < systems.size(); k++) {
            int n = systems.get(k).w0().rows();
            judge(systems.get(k), eta[k] / unit(n, p), "a solve by LU", "backward error " + fmt(eta[k]), n, p);
        }
    }

    /**
     * X = V f(S) U^T T (W0 X = T) or X = U f(S) V^T T (W0^T X = T): X z recomputed from the factors, on every core,
     * judged in layer order.
     */
    void checkSvdSolutions(List<W0System> systems, List<Matrix> targets, List<Matrix> solutions, Equation equation,
                           List<double[]> filters, Precision p) {
        boolean plain = equation == Equation.W0_X;
        double[] err = new double[systems.size()];
        double[] scale = new double[systems.size()];
        IntStream.range(0, systems.size()).parallel().forEach(k -> {
            W0System s = systems.get(k);
            Svd svd = s.svd();
            double[] f = filters.get(k);
            double fmax = 0;
            for (double v : f) {
                fmax = Math.max(fmax, Math.abs(v));
            }
            double[] z = probe(solutions.get(k).cols(), k);
            double[] t = ReferenceArithmetic.apply(targets.get(k), false, z);
            // y = f(S) (U^T t) or f(S) (V^T t); X z = V y or U y
            double[] y = plain ? ReferenceArithmetic.apply(svd.u(), true, t) : ReferenceArithmetic.apply(svd.vt(), false, t);
            for (int i = 0; i < y.length; i++) {
                y[i] *= f[i];
            }
            double[] expected = plain ? ReferenceArithmetic.apply(svd.vt(), true, y)
                    : ReferenceArithmetic.apply(svd.u(), false, y);
            double[] got = ReferenceArithmetic.apply(solutions.get(k), false, z);
            int n = Math.max(s.w0().rows(), s.w0().cols());
            err[k] = ReferenceArithmetic.distance(got, expected);
            scale[k] = unit(n, p) * (ReferenceArithmetic.norm2(y) + fmax * ReferenceArithmetic.norm2(t));
        });
        for (int k = 0; k < systems.size(); k++) {
            W0System s = systems.get(k);
            int n = Math.max(s.w0().rows(), s.w0().cols());
            judge(s, ReferenceArithmetic.ratio(err[k], scale[k]), "a solve through the SVD",
                    "X z is off by " + fmt(err[k]), n, p);
        }
    }

    /** Each thin SVD W0 = U S V^T: W0 V z = U S z, W0^T U z = V S z, and orthonormal U and V, for a random z. */
    void checkSvds(List<W0System> systems, Precision p) {
        for (int k = 0; k < systems.size(); k++) {
            W0System s = systems.get(k);
            Svd svd = s.svd();
            double[] sv = svd.s();
            if (sv.length == 0) {
                continue;
            }
            Matrix w0 = s.w0();
            double[] z = probe(sv.length, k);
            double[] sz = z.clone();
            for (int i = 0; i < sz.length; i++) {
                sz[i] *= sv[i];
            }
            double[] vz = ReferenceArithmetic.apply(svd.vt(), true, z);
            double[] uz = ReferenceArithmetic.apply(svd.u(), false, z);
            double err = Math.max(
                    ReferenceArithmetic.distance(ReferenceArithmetic.apply(w0, false, vz),
                            ReferenceArithmetic.apply(svd.u(), false, sz)),
                    ReferenceArithmetic.distance(ReferenceArithmetic.apply(w0, true, uz),
                            ReferenceArithmetic.apply(svd.vt(), true, sz)));
            double normZ = ReferenceArithmetic.norm2(z);
            // U z and V z are at hand: ||U^T (U z) - z|| and ||V^T (V z) - z|| without copying V (n x n when square)
            double ortho = Math.max(ReferenceArithmetic.distance(ReferenceArithmetic.apply(svd.u(), true, uz), z),
                    ReferenceArithmetic.distance(ReferenceArithmetic.apply(svd.vt(), false, vz), z)) * sv[0];
            int n = Math.max(w0.rows(), w0.cols());
            double worstErr = Math.max(err, ortho);
            judge(s, ReferenceArithmetic.ratio(worstErr, unit(n, p) * sv[0] * normZ), "a thin SVD",
                    "W0 = U S V^T is off by " + fmt(worstErr / (sv[0] * normZ)) + " relative", n, p);
        }
    }

    private void judge(W0System s, double ratio, String what, String detail, int n, Precision p) {
        checks.increment();
        worst.accumulate(ratio);
        if (!(ratio <= BOUND)) {
            ArithmeticInfo arithmetic = backend.arithmetic();
            throw ArithmeticCheckException.of(arithmetic, "computed " + what + " wrongly for module "
                    + s.module().module() + " layer " + s.module().layer() + " (" + detail + ", "
                    + (Double.isFinite(ratio) ? fmt(ratio) : "not finite,") + " times n eps where correct arithmetic stays below 1; n = "
                    + n + ", " + p.name().toLowerCase() + ")",
                    "the analysis was stopped and no report was written");
        }
    }

    /** n eps, the unit of every error here (eps for an empty system, whose error is 0: not 0 / 0). */
    private static double unit(int n, Precision p) {
        return Math.max(n, 1) * p.epsilon();
    }

    /**
     * Rows {@code rows} of a column-major matrix times x, column by column: each column is read where it lies, where a
     * row at a time would stride across the whole matrix (at n = 4096, a page per element).
     */
    private static double[] rowsTimes(Matrix a, int[] rows, double[] x) {
        double[] d = a.data();
        int m = a.rows();
        double[] out = new double[rows.length];
        for (int j = 0; j < x.length; j++) {
            double xj = x[j];
            int col = j * m;
            for (int k = 0; k < rows.length; k++) {
                out[k] += d[col + rows[k]] * xj;
            }
        }
        return out;
    }

    private static int[] sampleRows(int n) {
        int count = Math.min(n, ROWS);
        int[] rows = new int[count];
        for (int k = 0; k < count; k++) {
            rows[k] = (int) ((long) k * n / count + (n / count) / 2);
        }
        return rows;
    }

    /** A probe per layer of a batch (see {@link ReferenceArithmetic#probe}). */
    private static double[] probe(int n, int layer) {
        return ReferenceArithmetic.probe(n, SEED + layer);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3g", v);
    }
}
