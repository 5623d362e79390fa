package io.github.convsim.linalg;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A deliberately wrong backend for tests: the real OpenBLAS backend with one routine's results perturbed, as
 * OpenBLAS 0.3.19's AVX-512 kernels were wrong: only from a size on (n >= 40 by default), and optionally in one
 * precision, only for batches or lone problems. The perturbation moves one element by a fraction (5 % by default) of
 * the largest element of its result: small beside the real bug (O(1) errors and NaN), far above rounding error.
 */
public final class PerturbedBackend implements LinalgBackend {
    public enum Routine { GEMM, SYRK, GETRF, GETRS, GESDD, ORGQR, GECON }

    private final LinalgBackend real;
    private final Routine routine;
    private final int fromSize;
    private final Precision only;
    private final Predicate<Integer> batchSizes;
    private final double magnitude;

    public PerturbedBackend(LinalgBackend real, Routine routine, int fromSize, Precision only,
                            Predicate<Integer> batchSizes, double magnitude) {
        this.real = real;
        this.routine = routine;
        this.fromSize = fromSize;
        this.only = only;
        this.batchSizes = batchSizes;
        this.magnitude = magnitude;
    }

    public PerturbedBackend(LinalgBackend real, Routine routine, int fromSize, Precision only,
                            Predicate<Integer> batchSizes) {
        this(real, routine, fromSize, only, batchSizes, 0.05);
    }

    public PerturbedBackend(LinalgBackend real, Routine routine) {
        this(real, routine, 40, null, count -> true);
    }

    private boolean applies(Routine r, Precision p, int size, int count) {
        return r == routine && (only == null || only == p) && size >= fromSize && batchSizes.test(count);
    }

    private Matrix perturbed(Matrix m) {
        Matrix c = m.copy();
        double max = 0;
        for (double v : c.data()) {
            max = Math.max(max, Math.abs(v));
        }
        int i = c.rows() / 2;
        int j = c.cols() / 2;
        c.set(i, j, c.get(i, j) + magnitude * max);
        return c;
    }

    private static <T> List<T> copy(List<T> in) {
        return new ArrayList<>(in);
    }

    @Override
    public String name() {
        return "perturbed-" + routine.name().toLowerCase();
    }

    @Override
    public String description() {
        return real.description() + " with " + routine + " perturbed";
    }

    @Override
    public ArithmeticInfo arithmetic() {
        return real.arithmetic();
    }

    @Override
    public List<LuFactors> lu(List<Matrix> squares, Precision precision) {
        List<LuFactors> out = copy(real.lu(squares, precision));
        for (int k = 0; k < out.size(); k++) {
            LuFactors f = out.get(k);
            if (applies(Routine.GETRF, precision, f.n(), out.size())) {
                out.set(k, new LuFactors(perturbed(f.packed()), f.pivots(), f.precision()));
            }
        }
        return out;
    }

    @Override
    public List<Matrix> luSolve(List<LuFactors> factors, List<Matrix> rhs) {
        List<Matrix> out = copy(real.luSolve(factors, rhs));
        for (int k = 0; k < out.size(); k++) {
            if (applies(Routine.GETRS, factors.get(k).precision(), factors.get(k).n(), out.size())) {
                out.set(k, perturbed(out.get(k)));
            }
        }
        return out;
    }

    @Override
    public List<Svd> svd(List<Matrix> matrices, boolean vectors, Precision precision) {
        List<Svd> out = copy(real.svd(matrices, vectors, precision));
        for (int k = 0; k < out.size(); k++) {
            Matrix a = matrices.get(k);
            Svd s = out.get(k);
            if (vectors && applies(Routine.GESDD, precision, Math.min(a.rows(), a.cols()), out.size())) {
                out.set(k, new Svd(perturbed(s.u()), s.s(), s.vt()));
            }
        }
        return out;
    }

    @Override
    public List<Matrix> gemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB, Precision precision) {
        List<Matrix> out = copy(real.gemm(a, transA, b, transB, precision));
        for (int k = 0; k < out.size(); k++) {
            Matrix c = out.get(k);
            if (applies(Routine.GEMM, precision, Math.min(c.rows(), c.cols()), out.size())) {
                out.set(k, perturbed(c));
            }
        }
        return out;
    }

    @Override
    public List<Matrix> gramOfColumns(List<Matrix> a, Precision precision) {
        List<Matrix> out = copy(real.gramOfColumns(a, precision));
        for (int k = 0; k < out.size(); k++) {
            if (applies(Routine.SYRK, precision, out.get(k).rows(), out.size())) {
                out.set(k, perturbed(out.get(k)));
            }
        }
        return out;
    }

    @Override
    public List<Matrix> orthonormalBasis(List<Matrix> matrices, Precision precision) {
        List<Matrix> out = copy(real.orthonormalBasis(matrices, precision));
        for (int k = 0; k < out.size(); k++) {
            if (applies(Routine.ORGQR, precision, out.get(k).cols(), out.size())) {
                out.set(k, perturbed(out.get(k)));
            }
        }
        return out;
    }

    @Override
    public double conditionEstimate(LuFactors lu, double oneNormOfA) {
        double c = real.conditionEstimate(lu, oneNormOfA);
        return applies(Routine.GECON, Precision.FP64, lu.n(), 1) ? 10 * c : c;
    }

    @Override
    public void close() {
        real.close();
    }
}
