package io.github.convsim.conversion;

import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import io.github.convsim.model.LoraModule;

/**
 * One layer's frozen weight W0 [out, in], factored once for every conversion solve against it: LU in paper mode, a
 * thin SVD otherwise. Its double-precision singular values give cond(W0) and the numerical rank.
 */
public final class W0System {
    private final LoraModule module;
    private final Matrix w0;
    private final double[] singularValues;
    private final LuFactors lu;
    private final Svd svd;

    W0System(LoraModule module, Matrix w0, double[] singularValues, LuFactors lu, Svd svd) {
        this.module = module;
        this.w0 = w0;
        this.singularValues = singularValues;
        this.lu = lu;
        this.svd = svd;
    }

    public LoraModule module() {
        return module;
    }

    public Matrix w0() {
        return w0;
    }

    /** Singular values of W0 in double precision, descending. */
    public double[] singularValues() {
        return singularValues.clone();
    }

    /** cond_2(W0) = s_max / s_min; infinite for a singular W0. */
    public double conditionNumber() {
        return Svd.conditionNumber(singularValues);
    }

    /** Number of singular values above max(out, in) * eps * s_max (NumPy's matrix_rank rule). */
    public int numericalRank() {
        return Svd.numericalRank(singularValues, Math.max(w0.rows(), w0.cols()) * Precision.FP64.epsilon());
    }

    public boolean isSquare() {
        return w0.rows() == w0.cols();
    }

    LuFactors lu() {
        return lu;
    }

    Svd svd() {
        return svd;
    }
}
