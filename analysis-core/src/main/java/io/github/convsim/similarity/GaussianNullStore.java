package io.github.convsim.similarity;

import java.util.Optional;

/**
 * Where the Gaussian null's phi samples may be kept from one run to the next. They depend on the shape (n, i, j and
 * the number of layers), the draws, the seed and the arithmetic, and on no weight, so every adapter of a shape can
 * share them. {@link #find} must give exactly what {@link #keep} was given, or nothing.
 */
public interface GaussianNullStore {
    /** Keeps nothing. */
    GaussianNullStore NONE = new GaussianNullStore() {
        @Override
        public Optional<double[][][]> find(String shape) {
            return Optional.empty();
        }

        @Override
        public void keep(String shape, double[][][] samples) {}
    };

    /** The samples (draw, layer a, layer b) kept for {@code shape}, if any. */
    Optional<double[][][]> find(String shape);

    void keep(String shape, double[][][] samples);
}
