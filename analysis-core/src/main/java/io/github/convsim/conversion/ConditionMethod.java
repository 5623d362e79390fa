package io.github.convsim.conversion;

import java.util.Locale;

/**
 * How cond(W0) is obtained. The exact 2-norm condition number needs W0's singular values, an O(n^3) SVD costing
 * several times the LU solve itself; the 1-norm estimate reuses the LU factors (LAPACK gecon, O(n^2)).
 */
public enum ConditionMethod {
    /** Exact where the SVD is cheap or computed anyway (non-paper modes), estimated for W0 larger than 2048. */
    AUTO,
    /** cond_2 = s_max / s_min from double-precision singular values, with the numerical rank. */
    EXACT,
    /** cond_1 estimated from the LU factors by LAPACK gecon; paper mode only, no rank. */
    ESTIMATE;

    /** Largest dimension of W0 for which AUTO pays for the exact SVD in paper mode. */
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
        throw new IllegalArgumentException("unknown cond method '" + s + "' (expected auto, exact or estimate)");
    }

    /** Whether W0 of the given shape, solved in the given mode, gets the exact cond_2. */
    public boolean exactFor(SolveMode mode, int rows, int cols) {
        return switch (this) {
            case EXACT -> true;
            case ESTIMATE -> mode != SolveMode.PAPER;
            case AUTO -> mode != SolveMode.PAPER || Math.max(rows, cols) <= AUTO_EXACT_LIMIT;
        };
    }
}
