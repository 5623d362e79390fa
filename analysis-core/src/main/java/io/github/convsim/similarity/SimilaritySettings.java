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

    public SimilaritySettings {
        if (i < 0 || j < 0) {
            throw new IllegalArgumentException("i and j must be positive (0 means r)");
        }
        if (draws < 2 && (nulls.contains(NullModel.GAUSSIAN) || nulls.contains(NullModel.W0))) {
            throw new IllegalArgumentException("a sampled null needs at least 2 draws, got " + draws);
        }
        for (String c : controls) {
            if (!Set.of("A", "B", "W0").contains(c)) {
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

    public int iFor(int rank) {
        return i == 0 ? rank : i;
    }

    public int jFor(int rank) {
        return j == 0 ? rank : j;
    }
}
