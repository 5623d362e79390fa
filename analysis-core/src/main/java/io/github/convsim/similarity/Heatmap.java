package io.github.convsim.similarity;

/**
 * One layers x layers similarity map and what it is compared with.
 *
 * @param module    module name, e.g. query
 * @param subject   what the subspaces come from: C_A, C_B, C_dW (conversion matrices) or the controls A^T, B, W0
 * @param dimension dimension of the space the subspaces live in (the n of the analytic null max(i, j) / n)
 * @param w0Subspace dimension of a subspace fixed by W0 that holds the subject in every layer, smaller than {@code
 *                  dimension} (the singular directions of W0 the solve uses: W0's row space for C_B and C_dW where
 *                  least squares goes through a wide W0, its column space for C_A where it is tall, those above
 *                  pinv's cut-off; see {@link #w0Subspace(String, Side, int, int)}); 0 where there is none
 * @param layers    layer index of each row and column
 * @param ranks     each layer's LoRA rank r (PEFT's rank_pattern can set one per layer; i and j count from the
 *                  smallest)
 * @param subspaceRanks each layer's numerical rank of the subject (its singular values above max(m, n) eps s_max):
 *                  phi is undefined where it is below i or j (0 for a zero factor)
 * @param phi       phi(i, j) for every pair of layers; NaN where undefined (a subspace of rank below i or j)
 * @param average   the paper's Average Similarity: mean of phi over pairs a < b
 * @param grassmann Grassmann distance between the same pairs of subspaces
 * @param analytic  E[phi] for independent uniformly random subspaces, max(i, j) / n
 * @param gaussian  the paper's Gaussian baseline over K seeded draws; null if not computed
 * @param w0        the W0 null (Gaussian factors of the same shapes through the same W0 solves); null if not computed
 * @param power     what a test of this map against its W0 null could detect: the averages, over the same cells as the
 *                  map, of planted controls that share one conversion matrix across layers ({@link PlantedControl});
 *                  null where not estimated (no plants drawn, or none that speak for this map)
 */
public record Heatmap(String module, String subject, Side side, int i, int j, int dimension, int w0Subspace,
                      int[] layers, int[] ranks, int[] subspaceRanks, double[][] phi, double average,
                      double[][] grassmann, double analytic, NullDistribution gaussian, NullDistribution w0,
                      PowerCurve power) {

    /** File-name stem of this map's figure: {@code <module>.<factor>.<side>.i<I>-j<J>}. */
    public String stem() {
        return module + "." + subjectLabel() + "." + side.label() + ".i" + i + "-j" + j;
    }

    /** Subject without the "C_" prefix: A, B, dW; controls as raw-A, raw-B, W0. */
    public String subjectLabel() {
        return switch (subject) {
            case "C_A" -> "A";
            case "C_B" -> "B";
            case "C_dW" -> "dW";
            case "A^T" -> "raw-A";
            case "B" -> "raw-B";
            default -> subject;
        };
    }

    /**
     * Whether the layers' ranks differ (then only the left side is read, and the planted controls share one map of the
     * largest rank, of which each layer takes as many columns as its rank).
     */
    public boolean mixedRanks() {
        return java.util.Arrays.stream(ranks).distinct().count() > 1;
    }

    /** The largest layer rank. */
    public int largestRank() {
        return java.util.Arrays.stream(ranks).max().orElse(0);
    }

    /** The smallest and largest layer rank, as "4 to 8" (or "8" where all agree). */
    public String rankRange() {
        int lo = java.util.Arrays.stream(ranks).min().orElse(0);
        int hi = largestRank();
        return lo == hi ? Integer.toString(lo) : lo + " to " + hi;
    }

    /**
     * Layers whose row or column is undefined (their factor has rank below i or j: a zero B, say) where other cells
     * are defined: their pairs are left out of the average, and of the nulls' averages too. Empty where every cell is
     * defined.
     */
    public java.util.List<Integer> layersLeftOut() {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (int a = 0; a < phi.length && !Double.isNaN(average); a++) {
            boolean row = true;
            boolean column = true;
            for (int b = 0; b < phi.length; b++) {
                if (a != b) {
                    row &= Double.isNaN(phi[a][b]);
                    column &= Double.isNaN(phi[b][a]);
                }
            }
            if (row || column) {
                out.add(layers[a]);
            }
        }
        return out;
    }

    public boolean isControl() {
        return !subject.startsWith("C_");
    }

    /**
     * Whether phi is 1 in every defined cell by construction: i or j singular vectors span the whole space they live
     * in (max(i, j) >= dimension, e.g. right singular vectors with i = j = r). Such a map differs from its nulls only
     * by rounding, so it has no effect size, p-value or z-map: each would be rounding noise over rounding noise.
     */
    public boolean spansWholeSpace() {
        return Math.max(i, j) >= dimension;
    }

    /**
     * Whether the map is W0's alone by construction: i and j singular vectors span the whole subspace W0 fixes for the
     * subject ({@link #spansW0Subspace}), or every draw of the W0 null (random factors through the same W0) gives it to
     * rounding ({@link NullDistribution#hasNoSpread}), as where W0 has lower rank than its shape says. Such a map and
     * its W0 null differ by rounding only, and a Gaussian baseline would test W0's subspaces, not the adapter.
     */
    public boolean determinedByW0() {
        return spansW0Subspace() || (w0 != null && w0.hasNoSpread());
    }

    /**
     * Whether i and j singular vectors span the whole subspace W0 fixes for the subject: least squares through a wide
     * W0 (out < in) puts C_B = W0^+ B in W0's row space, of dimension at most out, which i = j = r = out vectors span
     * (grouped-query attention's k and v at r = their output size); pinv's cut-off keeping r singular values does the
     * same through a square W0.
     */
    public boolean spansW0Subspace() {
        return w0Subspace > 0 && Math.min(i, j) >= w0Subspace;
    }

    /**
     * The dimension of the subspace W0 fixes for {@code subject}'s {@code side} vectors (see the record's {@code
     * w0Subspace}), where they live in a space of {@code dimension} and the solve used {@code solutionRank} of W0's
     * singular directions in the layer that used most (ConversionSolver#solutionRank): the solutions X = V f(S) U^T T
     * of W0 X = T (C_B, C_dW, C_A through a square W0) lie in the span of those right singular vectors, and those of
     * W0^T X = T (C_A otherwise) in the span of the left ones. 0 where they fill the space, on the right side (whose
     * vectors come from A or the identity, not from W0) and for the controls.
     */
    public static int w0Subspace(String subject, Side side, int dimension, int solutionRank) {
        boolean converted = subject.equals("C_A") || subject.equals("C_B") || subject.equals("C_dW");
        return side == Side.LEFT && converted && solutionRank < dimension ? solutionRank : 0;
    }

    /**
     * Whether the map has no effect size, p-value or z-map: phi is 1 ({@link #spansWholeSpace}) or W0's alone
     * ({@link #determinedByW0}) by construction.
     */
    public boolean degenerate() {
        return spansWholeSpace() || determinedByW0();
    }
}
