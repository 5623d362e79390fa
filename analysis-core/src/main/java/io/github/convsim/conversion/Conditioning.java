package io.github.convsim.conversion;

import io.github.convsim.linalg.LanczosCondition;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;

/**
 * cond(W0) of one layer and how it was obtained.
 *
 * @param value cond_2 (exact, or by Lanczos to 1e-6) or the estimate of cond_1; infinite for a singular W0, NaN when
 *              not computed
 * @param exact true: cond_2 from double-precision singular values; false: by Lanczos, or LAPACK gecon's estimate
 * @param rank  numerical rank (NumPy's matrix_rank rule) from the singular values, or n where Lanczos puts s_min above
 *              its threshold; -1 when unknown
 * @param norm  how it was obtained, as written in diagnostics.csv: "2-norm", "2-norm (Lanczos)", "1-norm estimate"
 */
public record Conditioning(double value, boolean exact, int rank, String norm) {

    /** From W0's double-precision singular values (descending) for a W0 of the given shape. */
    public static Conditioning exact(double[] s, int rows, int cols) {
        return new Conditioning(Svd.conditionNumber(s), true,
                Svd.numericalRank(s, Math.max(rows, cols) * Precision.FP64.epsilon()), "2-norm");
    }

    /**
     * cond_2 of a square n x n W0 from s_max and s_min by Lanczos: full rank n when s_min clears NumPy's
     * matrix_rank threshold n eps s_max, unknown (-1) otherwise.
     */
    public static Conditioning lanczos(LanczosCondition.Result r, int n) {
        int rank = r.sMin() > n * Precision.FP64.epsilon() * r.sMax() ? n : -1;
        return new Conditioning(r.condition(), false, rank, "2-norm (Lanczos)");
    }

    public static Conditioning estimate(double cond1) {
        return new Conditioning(cond1, false, -1, "1-norm estimate");
    }

    /** For timing the solve alone. */
    public static Conditioning notComputed() {
        return new Conditioning(Double.NaN, false, -1, "not computed");
    }
}
