package io.github.convsim.common;

import io.github.convsim.linalg.Matrix;
import java.util.random.RandomGenerator;

/** Random matrices for the null models, drawn from a seeded generator so that a seed reproduces them. */
public final class RandomMatrices {
    private RandomMatrices() {}

    /** Rows x cols i.i.d. standard normal entries. */
    public static Matrix standardGaussian(RandomGenerator rng, int rows, int cols) {
        Matrix m = Matrix.zeros(rows, cols);
        double[] d = m.data();
        for (int k = 0; k < d.length; k++) {
            d[k] = rng.nextGaussian();
        }
        return m;
    }

    /** Rows x cols i.i.d. normal entries scaled to Frobenius norm {@code norm} (all zero when the draw is). */
    public static Matrix gaussian(RandomGenerator rng, int rows, int cols, double norm) {
        Matrix m = standardGaussian(rng, rows, cols);
        double[] d = m.data();
        double f = m.frobeniusNorm();
        double s = f > 0 ? norm / f : 0;
        for (int k = 0; k < d.length; k++) {
            d[k] *= s;
        }
        return m;
    }
}
