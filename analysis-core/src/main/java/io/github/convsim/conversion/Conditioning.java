package io.github.convsim.conversion;

import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;

/**
 * cond(W0) of one layer and how it was obtained.
 *
 * @param value cond_2 (exact) or the estimate of cond_1; infinite for a singular W0, NaN when not computed
 * @param exact true: cond_2 from double-precision singular values; false: LAPACK gecon's estimate of cond_1
 * @param rank  numerical rank from the singular values (NumPy's matrix_rank rule); -1 when they were not computed
 */
public record Conditioning(double value, boolean exact, int rank) {

    /** From W0's double-precision singular values (descending) for a W0 of the given shape. */
    public static Conditioning exact(double[] s, int rows, int cols) {
        return new Conditioning(Svd.conditionNumber(s), true,
                Svd.numericalRank(s, Math.max(rows, cols) * Precision.FP64.epsilon()));
    }

    public static Conditioning estimate(double cond1) {
        return new Conditioning(cond1, false, -1);
    }

    /** For timing the solve alone. */
    public static Conditioning notComputed() {
        return new Conditioning(Double.NaN, false, -1);
    }

    /** "2-norm" or "1-norm estimate", as written in diagnostics.csv. */
    public String norm() {
        return exact ? "2-norm" : "1-norm estimate";
    }
}
