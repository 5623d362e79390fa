package io.github.convsim.conversion;

import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraModule;

/**
 * Where a module pass finds W0's LU factors and cond(W0) from an earlier run on the same base, and leaves the ones it
 * computed (paper mode; the SVD modes factor afresh). An implementation answers only for factors computed from the
 * same W0 by the same arithmetic, so that a run with them gives the numbers a run without them does, bit for bit.
 */
public interface FactorCache {
    /** Factors of a layer's W0 and, for the working precision, its cond(W0). */
    record Factors(LuFactors lu, Conditioning conditioning) {}

    /** A cache that holds nothing. */
    FactorCache NONE = new FactorCache() {
        @Override
        public Factors find(LoraModule layer, Precision precision) {
            return null;
        }

        @Override
        public void keep(LoraModule layer, Factors factors) {}
    };

    /** The layer's factors in {@code precision}, or null. */
    Factors find(LoraModule layer, Precision precision);

    /** Stores a layer's factors (their precision is the LU's). */
    void keep(LoraModule layer, Factors factors);

    /**
     * As {@link #keep}, for factors the caller goes on using until its next {@link #settle}: they may be stored
     * meanwhile, without the caller waiting for room.
     */
    default void keepHeld(LoraModule layer, Factors factors) {
        keep(layer, factors);
    }

    /** Waits until the factors given to {@link #keepHeld} are stored: called before letting go of them. */
    default void settle() {}
}
