package io.github.convsim.linalg;

import java.util.List;

/**
 * The dense linear algebra convsim needs, on column-major {@link Matrix} buffers, batched over independent problems
 * so that an implementation can run them in parallel (CPU) or in one launch (GPU).
 *
 * <p>Contract shared by all operations: inputs are never modified; results are new matrices; FP32 means the inputs are
 * rounded to float, the computation runs in float and the results are widened back to double. Batches may hold
 * problems of different shapes. Implementations are thread-safe.
 */
public interface LinalgBackend extends AutoCloseable {

    /** Short name shown in reports: "cpu-openblas", "cuda". */
    String name();

    /** A line describing the device, library versions and threads. */
    String description();

    /**
     * LU factors with partial pivoting of each square matrix.
     *
     * @throws SingularMatrixException if a matrix is exactly singular
     */
    List<LuFactors> lu(List<Matrix> squares, Precision precision);

    /** X with A X = B for each (factors of A, B) pair, B of n rows and any number of columns. */
    List<Matrix> luSolve(List<LuFactors> factors, List<Matrix> rhs);

    /**
     * X with A X = B for each pair, when the factors are not needed again: a backend may then keep A where it computes
     * (the GPU) instead of returning its factors.
     */
    default List<Matrix> solveSquare(List<Matrix> squares, List<Matrix> rhs, Precision precision) {
        return luSolve(lu(squares, precision), rhs);
    }

    /**
     * Thin SVD of each matrix (divide and conquer). With {@code vectors} false only the singular values are
     * computed; U and V^T are null.
     */
    List<Svd> svd(List<Matrix> matrices, boolean vectors, Precision precision);

    /** C = op(A) op(B) for each pair, op being the transpose where asked. */
    List<Matrix> gemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB, Precision precision);

    /**
     * The Gram matrix A^T A of each matrix's columns, symmetric to the last bit. By default the product A^T A; a backend
     * may compute one triangle (syrk: half the flops, A read once) and mirror it.
     */
    default List<Matrix> gramOfColumns(List<Matrix> a, Precision precision) {
        return gemm(a, true, a, false, precision).stream().map(Matrix::symmetrizedFromUpper).toList();
    }

    /** Orthonormal Q (m x n) of the thin QR factorisation of each m x n matrix, m >= n. */
    List<Matrix> orthonormalBasis(List<Matrix> matrices, Precision precision);

    /**
     * cond_1(A) estimated from A's LU factors and ||A||_1 (LAPACK's gecon); see {@link ConditionEstimate}. Infinite
     * when A is singular to working precision.
     */
    default double conditionEstimate(LuFactors lu, double oneNormOfA) {
        return ConditionEstimate.fromLu(lu, oneNormOfA);
    }

    /** {@link #conditionEstimate} of several factorisations, {@code oneNorms[k]} = ||A_k||_1; in parallel where it can. */
    default double[] conditionEstimates(List<LuFactors> factors, double[] oneNorms) {
        double[] out = new double[factors.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = conditionEstimate(factors.get(k), oneNorms[k]);
        }
        return out;
    }

    /**
     * cond_2 of each square matrix from its fp64 LU factors by {@link LanczosCondition}, to relative accuracy
     * {@code tolerance}, problem k seeded by {@code seeds[k]}: the same iteration whichever backend applies the
     * operators. By default in plain Java, one matrix per core.
     */
    default List<LanczosCondition.Result> lanczosCondition(List<Matrix> squares, List<LuFactors> factors,
                                                            double tolerance, long[] seeds) {
        LanczosCondition.Result[] out = new LanczosCondition.Result[squares.size()];
        java.util.stream.IntStream.range(0, out.length).parallel().forEach(k ->
                out[k] = LanczosCondition.of(squares.get(k), factors.get(k), tolerance, seeds[k]));
        return List.of(out);
    }

    /** What this backend's arithmetic runs on: library, kernels, device or CPU, threads; and what to do if it fails. */
    default ArithmeticInfo arithmetic() {
        return new ArithmeticInfo(name() + " (" + description() + ")", java.util.Map.of("backend", name()),
                "Use --backend cpu.");
    }

    /**
     * The known-answer {@link SelfCheck} of this backend, lone and on parallel callers. {@link Backends} runs it on
     * every backend it hands out, before any number is computed.
     */
    default SelfCheck.Report selfCheck() {
        return SelfCheck.run(this, null, Runtime.getRuntime().availableProcessors());
    }

    @Override
    default void close() {}
}
