package io.github.convsim.conversion;

/** How the conversion equations W0 X = T are solved. */
public enum SolveMode {
    /** The authors' exact inverse, by LU with partial pivoting; W0 must be square and non-singular. */
    PAPER,
    /** Minimum-norm least squares: singular values below max(m, n) * eps * s_max are treated as zero. */
    LSTSQ,
    /** Pseudo-inverse with singular values below rcond * s_max dropped. */
    PINV,
    /** Tikhonov regularisation: X = argmin ||W0 X - T||^2 + lambda ||X||^2. */
    RIDGE;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static SolveMode parse(String s) {
        for (SolveMode m : values()) {
            if (m.name().equalsIgnoreCase(s.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown mode '" + s + "' (expected paper, lstsq, pinv or ridge)");
    }
}
