package io.github.convsim.linalg;

import java.util.List;

/**
 * Every backend {@link Backends} hands out, behind one argument check: batches of equal length, no null matrix,
 * square matrices where a factorisation needs them, inner dimensions that agree, right-hand sides of the factors'
 * size. A wrong call is an IllegalArgumentException naming the operation and the problem, before any native code
 * (which would read past a buffer or crash the JVM) runs; a backend implements only the arithmetic.
 */
final class CheckedArguments implements LinalgBackend {
    private final LinalgBackend backend;

    CheckedArguments(LinalgBackend backend) {
        this.backend = backend;
    }

    /** The backend this one checks the arguments of. */
    LinalgBackend unchecked() {
        return backend;
    }

    @Override
    public String name() {
        return backend.name();
    }

    @Override
    public String description() {
        return backend.description();
    }

    @Override
    public List<LuFactors> lu(List<Matrix> squares, Precision precision) {
        checkSquares("lu", squares);
        return backend.lu(squares, precision);
    }

    @Override
    public List<Matrix> luSolve(List<LuFactors> factors, List<Matrix> rhs) {
        checkBatch("luSolve", factors, rhs);
        for (int k = 0; k < factors.size(); k++) {
            if (factors.get(k) == null) {
                throw new IllegalArgumentException("luSolve: problem " + k + " has no factors");
            }
            checkRhs("luSolve", k, factors.get(k).n(), rhs.get(k));
        }
        return backend.luSolve(factors, rhs);
    }

    @Override
    public List<Matrix> solveSquare(List<Matrix> squares, List<Matrix> rhs, Precision precision) {
        checkBatch("solveSquare", squares, rhs);
        checkSquares("solveSquare", squares);
        for (int k = 0; k < squares.size(); k++) {
            checkRhs("solveSquare", k, squares.get(k).rows(), rhs.get(k));
        }
        return backend.solveSquare(squares, rhs, precision);
    }

    @Override
    public List<Svd> svd(List<Matrix> matrices, boolean vectors, Precision precision) {
        checkMatrices("svd", matrices);
        return backend.svd(matrices, vectors, precision);
    }

    @Override
    public List<Matrix> gemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB, Precision precision) {
        checkBatch("gemm", a, b);
        checkMatrices("gemm", a);
        checkMatrices("gemm", b);
        for (int k = 0; k < a.size(); k++) {
            int inner = transA ? a.get(k).rows() : a.get(k).cols();
            int innerB = transB ? b.get(k).cols() : b.get(k).rows();
            if (inner != innerB) {
                throw new IllegalArgumentException("gemm: problem " + k + " multiplies " + a.get(k).shapeString()
                        + (transA ? "^T" : "") + " by " + b.get(k).shapeString() + (transB ? "^T" : "")
                        + ": inner dimensions " + inner + " and " + innerB + " differ");
            }
        }
        return backend.gemm(a, transA, b, transB, precision);
    }

    @Override
    public List<Matrix> gramOfColumns(List<Matrix> a, Precision precision) {
        checkMatrices("gramOfColumns", a);
        return backend.gramOfColumns(a, precision);
    }

    @Override
    public List<Matrix> orthonormalBasis(List<Matrix> matrices, Precision precision) {
        checkMatrices("orthonormalBasis", matrices);
        for (int k = 0; k < matrices.size(); k++) {
            Matrix m = matrices.get(k);
            if (m.rows() < m.cols()) {
                throw new IllegalArgumentException("orthonormalBasis: problem " + k + " is " + m.shapeString()
                        + "; a thin QR needs at least as many rows as columns");
            }
        }
        return backend.orthonormalBasis(matrices, precision);
    }

    @Override
    public double conditionEstimate(LuFactors lu, double oneNormOfA) {
        if (lu == null || !(oneNormOfA >= 0) || Double.isInfinite(oneNormOfA)) {
            throw new IllegalArgumentException("conditionEstimate needs LU factors and a finite ||A||_1 >= 0, got "
                    + (lu == null ? "no factors" : "||A||_1 = " + oneNormOfA));
        }
        return backend.conditionEstimate(lu, oneNormOfA);
    }

    @Override
    public double[] conditionEstimates(List<LuFactors> factors, double[] oneNorms) {
        if (factors == null || oneNorms == null || factors.size() != oneNorms.length) {
            throw new IllegalArgumentException("conditionEstimates: " + (factors == null ? "no" : factors.size())
                    + " factorisations and " + (oneNorms == null ? "no" : oneNorms.length) + " norms; give one of each");
        }
        for (int k = 0; k < oneNorms.length; k++) {
            LuFactors lu = factors.get(k);
            if (lu == null || !(oneNorms[k] >= 0) || Double.isInfinite(oneNorms[k])) {
                throw new IllegalArgumentException("conditionEstimates: problem " + k + " needs LU factors and a"
                        + " finite ||A||_1 >= 0, got " + (lu == null ? "no factors" : "||A||_1 = " + oneNorms[k]));
            }
        }
        return backend.conditionEstimates(factors, oneNorms);
    }

    @Override
    public List<LanczosCondition.Result> lanczosCondition(List<Matrix> squares, List<LuFactors> factors,
                                                           double tolerance, long[] seeds) {
        checkMatrices("lanczosCondition", squares);
        if (factors == null || seeds == null || factors.size() != squares.size() || seeds.length != squares.size()) {
            throw new IllegalArgumentException("lanczosCondition: " + squares.size() + " matrices, "
                    + (factors == null ? "no" : factors.size()) + " factorisations and "
                    + (seeds == null ? "no" : seeds.length) + " seeds; give one of each per matrix");
        }
        if (!(tolerance > 0 && tolerance < 1)) {
            throw new IllegalArgumentException("lanczosCondition: tolerance " + tolerance + " is not in (0, 1)");
        }
        for (int k = 0; k < squares.size(); k++) {
            if (factors.get(k) == null) {
                throw new IllegalArgumentException("lanczosCondition: problem " + k + " has no factors");
            }
            LanczosCondition.requireFactorsOf(squares.get(k), factors.get(k), tolerance);
        }
        return backend.lanczosCondition(squares, factors, tolerance, seeds);
    }

    @Override
    public ArithmeticInfo arithmetic() {
        return backend.arithmetic();
    }

    @Override
    public SelfCheck.Report selfCheck() {
        return backend.selfCheck();
    }

    @Override
    public void close() {
        backend.close();
    }

    private static void checkBatch(String op, List<?> a, List<?> b) {
        if (a == null || b == null) {
            throw new IllegalArgumentException(op + ": a batch is null");
        }
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(op + ": batches of " + a.size() + " and " + b.size()
                    + " problems; each problem needs both");
        }
    }

    private static void checkMatrices(String op, List<Matrix> ms) {
        if (ms == null) {
            throw new IllegalArgumentException(op + ": the batch is null");
        }
        for (int k = 0; k < ms.size(); k++) {
            if (ms.get(k) == null) {
                throw new IllegalArgumentException(op + ": problem " + k + " is null");
            }
        }
    }

    private static void checkSquares(String op, List<Matrix> ms) {
        checkMatrices(op, ms);
        for (int k = 0; k < ms.size(); k++) {
            if (ms.get(k).rows() != ms.get(k).cols()) {
                throw new IllegalArgumentException(op + ": problem " + k + " is " + ms.get(k).shapeString()
                        + ", not square");
            }
        }
    }

    private static void checkRhs(String op, int k, int n, Matrix rhs) {
        if (rhs == null || rhs.rows() != n) {
            throw new IllegalArgumentException(op + ": problem " + k + " has an " + n + "x" + n + " matrix but a"
                    + " right-hand side of " + (rhs == null ? "null" : rhs.shapeString()));
        }
    }
}
