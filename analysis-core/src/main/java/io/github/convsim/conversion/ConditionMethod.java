package io.github.convsim.conversion;

import java.util.Locale;

/**
 * How cond(W0) is obtained. The exact 2-norm condition number needs W0's singular values, an O(n^3) SVD costing
 * several times the LU solve itself; Lanczos on W0^T W0 and its inverse through the LU factors gives the same 2-norm
 * condition number to 1e-6 in O(n^2) per step ({@link io.github.convsim.linalg.LanczosCondition}); the 1-norm
 * estimate reuses the LU factors (LAPACK gecon, O(n^2)).
 */
public enum ConditionMethod {
    /**
     * fp64 paper mode: the 2-norm by Lanczos from the LU factors up to n = 2048, estimated above; the SVD modes: exact
     * (their SVD is computed anyway); fp32 paper mode: exact up to 2048, estimated above. Lanczos stops at the first
     * step whose residual bound reaches 1e-6, and the steps depend on how crowded the top of W0's spectrum is: 12 to 32
     * on BERT's 768 x 768 weights (about a tenth of a second per layer), about 140 on a 4096 x 4096 random-like
     * synthetic weight (2.7 s per layer, where its LU takes 0.6 s and the estimate 0.16 s).
     */
    AUTO,
    /** The 2-norm by Lanczos from the fp64 LU factors at every size (fp64 paper mode; elsewhere as AUTO). */
    LANCZOS,
    /** cond_2 = s_max / s_min from double-precision singular values, with the numerical rank. */
    EXACT,
    /** cond_1 estimated from the LU factors by LAPACK gecon; paper mode only, no rank. */
    ESTIMATE;

    /** Largest dimension of W0 for which AUTO pays for the exact SVD in fp32 paper mode, and for Lanczos in fp64. */
    public static final int AUTO_EXACT_LIMIT = 2048;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ConditionMethod parse(String s) {
        for (ConditionMethod m : values()) {
            if (m.label().equals(s.trim().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown cond method '" + s + "' (expected auto, lanczos, exact or estimate)");
    }

    /** Whether W0 of the given shape, solved in the given mode and precision, gets the exact cond_2 (an SVD). */
    public boolean exactFor(SolveMode mode, io.github.convsim.linalg.Precision precision, int rows, int cols) {
        return switch (this) {
            case EXACT -> true;
            case ESTIMATE -> mode != SolveMode.PAPER;
            case AUTO, LANCZOS -> mode != SolveMode.PAPER
                    || (precision != io.github.convsim.linalg.Precision.FP64 && Math.max(rows, cols) <= AUTO_EXACT_LIMIT);
        };
    }

    /** Whether the 2-norm of an n x n W0 comes from the fp64 LU factors by Lanczos. */
    public boolean lanczosFor(SolveMode mode, io.github.convsim.linalg.Precision precision, int n) {
        boolean fp64Lu = mode == SolveMode.PAPER && precision == io.github.convsim.linalg.Precision.FP64;
        return fp64Lu && (this == LANCZOS || (this == AUTO && n <= AUTO_EXACT_LIMIT));
    }
}
