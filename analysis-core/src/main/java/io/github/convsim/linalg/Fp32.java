package io.github.convsim.linalg;

/**
 * Conversions between fp64 arrays and fp32 chunks, for the fp32 check's BLAS calls and the cache's fp32 factors. Each
 * loop is a method of its own, so that C1 compiles it early: a long loop inside a rarely called method runs
 * interpreted until on-stack replacement.
 */
public final class Fp32 {
    private Fp32() {}

    /** {@code values[from, from + length)} rounded to fp32 into {@code into[0, length)}. */
    public static void narrow(double[] values, int from, float[] into, int length) {
        for (int i = 0; i < length; i++) {
            into[i] = (float) values[from + i];
        }
    }

    /** {@code values[0, length)} widened (exactly) into {@code into[at, at + length)}. */
    public static void widen(float[] values, double[] into, int at, int length) {
        for (int i = 0; i < length; i++) {
            into[at + i] = values[i];
        }
    }
}
