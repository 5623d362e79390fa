package io.github.convsim.linalg;

/**
 * A backend computed wrong numbers: its {@link SelfCheck} failed when it was created, or a {@link SolveGuard} found a
 * solve whose residual no correct arithmetic can produce. Nothing computed on that backend can be trusted, so no
 * analysis runs or continues. The message is one line naming the arithmetic, what failed and the workaround.
 */
public final class ArithmeticCheckException extends RuntimeException {
    public ArithmeticCheckException(String message) {
        super(message);
    }

    /** "{summary} {what}; {consequence}. {workaround}" as one line. */
    public static ArithmeticCheckException of(ArithmeticInfo arithmetic, String what, String consequence) {
        return new ArithmeticCheckException(arithmetic.summary() + " " + what + "; " + consequence + ". "
                + arithmetic.workaround());
    }
}
