package io.github.convsim.linalg;

/** Working precision of a computation. Inputs and results are always held as doubles. */
public enum Precision {
    FP64(Math.ulp(1.0) / 2),
    FP32(Math.ulp(1.0f) / 2);

    private final double unitRoundoff;

    Precision(double unitRoundoff) {
        this.unitRoundoff = unitRoundoff;
    }

    /** u = eps / 2: 1.1e-16 for FP64, 6.0e-8 for FP32. */
    public double unitRoundoff() {
        return unitRoundoff;
    }

    /** The decimal digits this precision carries: -log10(u), 15.95 for FP64 and 7.22 for FP32. */
    public double decimalDigits() {
        return -Math.log10(unitRoundoff);
    }

    /** The decimal digits a result keeps where a solve loses {@code digitsLost} of them to conditioning (at least 0). */
    public double digitsKept(double digitsLost) {
        return Math.max(0, decimalDigits() - digitsLost);
    }

    /** Machine epsilon, the spacing of numbers just above 1. */
    public double epsilon() {
        return 2 * unitRoundoff;
    }
}
