package io.github.convsim.similarity;

import java.util.Locale;

/** Null models that say what similarity to expect when there is nothing to find. */
public enum NullModel {
    /**
     * The paper's baseline: i.i.d. normal matrices of the conversion matrix's shape, compared like the observed ones.
     * The singular vectors of such a matrix are uniformly (Haar) distributed, so frames are drawn as the Q factor of a
     * Gaussian n x k matrix, which has exactly the same distribution at a fraction of the cost.
     */
    GAUSSIAN,
    /**
     * What W0 alone produces: A and B replaced by Gaussian matrices of the same Frobenius norms and pushed through the
     * same W0 solves. Similarity above this null is due to training, not to the frozen weights.
     */
    W0,
    /** E[phi] = max(i, j) / n for independent uniformly random subspaces of R^n. */
    ANALYTIC;

    /** Whether the null is drawn (gaussian, w0), from draws and a seed, rather than computed (analytic). */
    public boolean isSampled() {
        return this != ANALYTIC;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static NullModel parse(String s) {
        for (NullModel m : values()) {
            if (m.label().equals(s.trim().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown null model '" + s + "' (expected gaussian, w0 or analytic)");
    }
}
