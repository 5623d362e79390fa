package io.github.convsim.similarity;

import io.github.convsim.conversion.Factor;
import java.util.List;
import java.util.Set;

/**
 * What to compare and against which nulls.
 *
 * @param i        prefix length of layer a's basis; 0 means the adapter's rank r (the paper's default)
 * @param j        prefix length of layer b's basis; 0 means r
 * @param controls which raw matrices to compare as controls: "A" (A^T), "B", "W0"
 */
public record SimilaritySettings(int i, int j, List<Side> sides, List<Factor> factors, Set<NullModel> nulls,
                                 int draws, long seed, Set<String> controls) {
    public static final int DEFAULT_DRAWS = 32;
    public static final long DEFAULT_SEED = 20240322L;
    /** The raw-factor and W0 controls a run may add: A^T, B and W0's own subspaces. */
    public static final Set<String> CONTROLS = Set.of("A", "B", "W0");

    public SimilaritySettings {
        if (i < 0 || j < 0) {
            throw new IllegalArgumentException("i and j must be positive (0 means r)");
        }
        if (draws < 2 && nulls.stream().anyMatch(NullModel::isSampled)) {
            throw new IllegalArgumentException("a sampled null (gaussian, w0) needs at least 2 draws, got " + draws
                    + "; to draw none, leave them out (--nulls analytic, with no verdicts)");
        }
        for (String c : controls) {
            if (!CONTROLS.contains(c)) {
                throw new IllegalArgumentException("unknown control '" + c + "' (expected A, B or W0)");
            }
        }
        sides = List.copyOf(sides);
        factors = List.copyOf(factors);
        nulls = Set.copyOf(nulls);
        controls = Set.copyOf(controls);
    }

    /** The paper's defaults: i = j = r, left singular vectors, factors A, B and dW, all nulls, controls A and B. */
    public static SimilaritySettings paperDefaults() {
        return new SimilaritySettings(0, 0, List.of(Side.LEFT), List.of(Factor.A, Factor.B, Factor.DW),
                Set.of(NullModel.GAUSSIAN, NullModel.W0, NullModel.ANALYTIC), DEFAULT_DRAWS, DEFAULT_SEED,
                Set.of("A", "B"));
    }

    /**
     * A builder starting from the paper's defaults, for the settings a study changes:
     *
     * <pre>{@code
     * SimilaritySettings s = SimilaritySettings.builder().prefixes(4, 8).sides(Side.LEFT, Side.RIGHT)
     *         .factors(Factor.A, Factor.DW).draws(64).seed(7).build();
     * }</pre>
     */
    public static Builder builder() {
        return new Builder(paperDefaults());
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builds {@link SimilaritySettings}; every value is checked by {@link #build()}. */
    public static final class Builder {
        private int i;
        private int j;
        private List<Side> sides;
        private List<Factor> factors;
        private Set<NullModel> nulls;
        private int draws;
        private long seed;
        private Set<String> controls;

        private Builder(SimilaritySettings from) {
            i = from.i;
            j = from.j;
            sides = from.sides;
            factors = from.factors;
            nulls = from.nulls;
            draws = from.draws;
            seed = from.seed;
            controls = from.controls;
        }

        /** Prefix lengths of the two layers' bases (the paper's i and j); 0 means the adapter's rank r. */
        public Builder prefixes(int i, int j) {
            this.i = i;
            this.j = j;
            return this;
        }

        /** Left singular vectors (the paper's), right ones, or both. */
        public Builder sides(Side... sides) {
            this.sides = List.of(sides);
            return this;
        }

        /** Conversion matrices compared: C_A, C_B, C_dW. */
        public Builder factors(Factor... factors) {
            this.factors = List.of(factors);
            return this;
        }

        /** Null models; none for the observed maps alone. */
        public Builder nulls(NullModel... nulls) {
            this.nulls = Set.of(nulls);
            return this;
        }

        /** Draws of each sampled null (at least 2 when one is sampled). */
        public Builder draws(int draws) {
            this.draws = draws;
            return this;
        }

        /** Seed of every null draw. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Raw matrices compared on the same grid as controls: "A" (A^T), "B", "W0". */
        public Builder controls(String... controls) {
            this.controls = Set.of(controls);
            return this;
        }

        public SimilaritySettings build() {
            return new SimilaritySettings(i, j, sides, factors, nulls, draws, seed, controls);
        }
    }

    public int iFor(int rank) {
        return i == 0 ? rank : i;
    }

    public int jFor(int rank) {
        return j == 0 ? rank : j;
    }
}
