package io.github.convsim.conversion;

import io.github.convsim.linalg.Precision;

/**
 * How to solve the conversion equations.
 *
 * @param rcond  PINV: relative cut-off on singular values
 * @param lambda RIDGE: the Tikhonov parameter, in the units of W0's squared singular values
 * @param cond   how cond(W0) is obtained
 */
public record SolveOptions(SolveMode mode, Precision precision, double rcond, double lambda, ConditionMethod cond) {
    public static final double DEFAULT_RCOND = 1e-6;
    public static final double DEFAULT_LAMBDA = 1e-3;

    public SolveOptions {
        if (!(rcond >= 0 && rcond < 1)) {
            throw new IllegalArgumentException("rcond must be in [0, 1), got " + rcond);
        }
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("lambda must be a finite non-negative number, got " + lambda);
        }
        if (cond == null) {
            throw new IllegalArgumentException("cond method is required");
        }
    }

    public SolveOptions(SolveMode mode, Precision precision, double rcond, double lambda) {
        this(mode, precision, rcond, lambda, ConditionMethod.AUTO);
    }

    public static SolveOptions paper() {
        return new SolveOptions(SolveMode.PAPER, Precision.FP64, DEFAULT_RCOND, DEFAULT_LAMBDA);
    }

    public SolveOptions withPrecision(Precision p) {
        return new SolveOptions(mode, p, rcond, lambda, cond);
    }

    public SolveOptions withCond(ConditionMethod c) {
        return new SolveOptions(mode, precision, rcond, lambda, c);
    }

    public SolveOptions withMode(SolveMode m) {
        return new SolveOptions(m, precision, rcond, lambda, cond);
    }
}
