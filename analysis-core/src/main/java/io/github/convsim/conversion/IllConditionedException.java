package io.github.convsim.conversion;

/** A W0 that paper mode cannot invert: not square, singular, or singular to working precision. */
public final class IllConditionedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public IllConditionedException(String message) {
        super(message);
    }
}
