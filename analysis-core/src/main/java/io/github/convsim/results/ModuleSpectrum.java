package io.github.convsim.results;

/**
 * Singular values, descending, of one layer's W0 and of its conversion matrices C_A and C_B: the figure that shows
 * where the conversion matrices' directions come from (C = W0^-1 X takes its largest singular values from W0's
 * smallest).
 *
 * @param w0 W0's singular values; null where W0 is too large for a spectrum to be worth an SVD (over
 *           {@link #W0_LIMIT}), the conversion matrices' are given all the same
 */
public record ModuleSpectrum(int layer, double[] w0, double[] cA, double[] cB) {
    /** Largest dimension of W0 whose full spectrum is computed for the report (an O(n^3) SVD of one layer). */
    public static final int W0_LIMIT = 2048;
}
