package io.github.convsim.io;

/**
 * A regex from an adapter config (target_modules, rank_pattern, alpha_pattern) that took longer than its budget to
 * match a module path: catastrophic backtracking, or a hostile pattern.
 */
public final class PatternTimeoutException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public PatternTimeoutException(String message) {
        super(message);
    }
}
