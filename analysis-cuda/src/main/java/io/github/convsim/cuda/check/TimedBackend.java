package io.github.convsim.cuda.check;

import io.github.convsim.linalg.ArithmeticInfo;
import io.github.convsim.linalg.LanczosCondition;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * A backend that times every operation of the one it wraps (wall time, transfers included), by operation, precision
 * and the shape of its first problem: where an analysis spends its time on the device, for the GPU check's report.
 */
final class TimedBackend implements LinalgBackend {
    private final LinalgBackend inner;
    private final Map<String, double[]> times = new TreeMap<>();

    TimedBackend(LinalgBackend inner) {
        this.inner = inner;
    }

    /** Operation to [calls, problems, seconds], and forgets them. */
    synchronized Map<String, Object> drain() {
        Map<String, Object> out = new LinkedHashMap<>();
        times.forEach((k, v) -> out.put(k, Map.of("calls", (long) v[0], "problems", (long) v[1], "seconds", v[2])));
        times.clear();
        return out;
    }

    private <T> T timed(String op, List<?> problems, Supplier<T> work) {
        long t = System.nanoTime();
        T out = work.get();
        String shape = problems.isEmpty() ? "" : problems.get(0) instanceof Matrix m ? " " + m.shapeString()
                : problems.get(0) instanceof LuFactors lu ? " " + lu.n() : "";
        synchronized (this) {
            double[] v = times.computeIfAbsent(op + shape, k -> new double[3]);
            v[0]++;
            v[1] += problems.size();
            v[2] += (System.nanoTime() - t) / 1e9;
        }
        return out;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String description() {
        return inner.description();
    }

    @Override
    public List<LuFactors> lu(List<Matrix> squares, Precision p) {
        return timed("lu " + p, squares, () -> inner.lu(squares, p));
    }

    @Override
    public List<Matrix> luSolve(List<LuFactors> factors, List<Matrix> rhs) {
        return timed("luSolve " + (rhs.isEmpty() ? "" : rhs.get(0).cols() + " rhs"), factors,
                () -> inner.luSolve(factors, rhs));
    }

    @Override
    public List<Matrix> solveSquare(List<Matrix> squares, List<Matrix> rhs, Precision p) {
        return timed("solveSquare " + p, squares, () -> inner.solveSquare(squares, rhs, p));
    }

    @Override
    public List<Svd> svd(List<Matrix> matrices, boolean vectors, Precision p) {
        return timed("svd " + (vectors ? "vectors " : "values ") + p, matrices, () -> inner.svd(matrices, vectors, p));
    }

    @Override
    public List<Matrix> gemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB, Precision p) {
        return timed("gemm " + p, a, () -> inner.gemm(a, transA, b, transB, p));
    }

    @Override
    public List<Matrix> gramOfColumns(List<Matrix> a, Precision p) {
        return timed("gram " + p, a, () -> inner.gramOfColumns(a, p));
    }

    @Override
    public List<Matrix> orthonormalBasis(List<Matrix> matrices, Precision p) {
        return timed("basis " + p, matrices, () -> inner.orthonormalBasis(matrices, p));
    }

    @Override
    public double[] conditionEstimates(List<LuFactors> factors, double[] oneNorms) {
        return timed("cond estimate (host)", factors, () -> inner.conditionEstimates(factors, oneNorms));
    }

    @Override
    public double conditionEstimate(LuFactors lu, double oneNormOfA) {
        return inner.conditionEstimate(lu, oneNormOfA);
    }

    @Override
    public List<LanczosCondition.Result> lanczosCondition(List<Matrix> squares, List<LuFactors> factors,
                                                          double tolerance, long[] seeds) {
        return timed("cond lanczos (host)", squares, () -> inner.lanczosCondition(squares, factors, tolerance, seeds));
    }

    @Override
    public ArithmeticInfo arithmetic() {
        return inner.arithmetic();
    }

    @Override
    public void close() {
        inner.close();
    }
}
