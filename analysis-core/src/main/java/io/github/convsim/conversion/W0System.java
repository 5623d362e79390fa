package io.github.convsim.conversion;

import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Svd;
import io.github.convsim.model.LoraModule;

/**
 * One layer's frozen weight W0 [out, in], factored once for every conversion solve against it: LU in paper mode, a
 * thin SVD otherwise; with cond(W0), exact or estimated (see {@link ConditionMethod}).
 */
public final class W0System {
    private final LoraModule module;
    private final Matrix w0;
    private final Conditioning conditioning;
    private final LuFactors lu;
    private final Svd svd;
    /** ||W0||_F, computed on first use (by the {@link SolveGuard}); NaN until then. */
    private volatile double frobenius = Double.NaN;

    W0System(LoraModule module, Matrix w0, Conditioning conditioning, LuFactors lu, Svd svd) {
        this.module = module;
        this.w0 = w0;
        this.conditioning = conditioning;
        this.lu = lu;
        this.svd = svd;
    }

    public LoraModule module() {
        return module;
    }

    public Matrix w0() {
        return w0;
    }

    public Conditioning conditioning() {
        return conditioning;
    }

    /** cond_2(W0) = s_max / s_min (or the cond_1 estimate); infinite for a singular W0. */
    public double conditionNumber() {
        return conditioning.value();
    }

    /** Number of singular values above max(out, in) * eps * s_max (NumPy's matrix_rank rule); -1 if not computed. */
    public int numericalRank() {
        return conditioning.rank();
    }

    public boolean isSquare() {
        return w0.rows() == w0.cols();
    }

    /** ||W0||_F (plain sum of squares: weights do not overflow it). */
    double frobeniusNorm() {
        double f = frobenius;
        if (Double.isNaN(f)) {
            frobenius = f = io.github.convsim.linalg.ReferenceArithmetic.norm2(w0.data());
        }
        return f;
    }

    LuFactors lu() {
        return lu;
    }

    Svd svd() {
        return svd;
    }
}
