package io.github.convsim.results;

import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.PowerCurve;
import io.github.convsim.similarity.Side;

/**
 * phi between adapters, per layer, for one module, conversion matrix and side.
 *
 * @param subject   C_A, C_B or C_dW; A^T or B for the raw-factor controls
 * @param layers    layer index of each slice of {@code perLayer}
 * @param ranks     ranks[adapter][l]: each adapter's LoRA rank at layer {@code layers[l]}
 * @param subspaceRanks subspaceRanks[adapter][l]: the numerical rank of each adapter's matrix at layer
 *                  {@code layers[l]} (0 for a zero factor); phi is undefined where it is below i or j
 * @param perLayer  perLayer[l][p][q]: phi between adapters p and q at layer l
 * @param i         prefix length used for every adapter (the smallest rank when not given)
 * @param analytic  E[phi] for unrelated random subspaces of the same dimension
 * @param w0Null    per layer, phi between two independent draws of the W0 null (Gaussian factors of the adapters'
 *                  ranks through the same W0): what two unrelated adapters share through W0 alone, averaged over the
 *                  compared pairs where their ranks differ; null when not computed
 * @param pairNulls where the adapters' ranks differ, each pair's own null (pairs a &lt; b in order, drawn at the
 *                  pair's ranks); null where every pair shares {@code w0Null}
 * @param power     phi reached by planted pairs that share what this map compares up to each noise level
 *                  ({@link io.github.convsim.similarity.PlantedPairs}: conversion matrices; for C_dW below a rank C_B
 *                  with each adapter's own A, on the right A's rows); null where the W0 null was not computed, for the
 *                  raw-factor controls, and on the right where i or j is r for C_A and C_B (phi is 1 there)
 */
public record ComparisonMap(String module, String subject, Side side, int i, int j, int[] layers, int[][] ranks,
                            int[][] subspaceRanks, double[][][] perLayer, double analytic, NullDistribution w0Null,
                            java.util.List<NullDistribution> pairNulls, PowerCurve power) {

    /** The W0 null for adapters a and b (a != b): their own where ranks differ, else the map's. */
    public NullDistribution pairNull(int a, int b) {
        if (pairNulls == null || w0Null == null) {
            return w0Null;
        }
        int lo = Math.min(a, b);
        int hi = Math.max(a, b);
        int adapters = perLayer[0].length;
        // pairs (0, 1), (0, 2), ..., (1, 2), ...: those of lower first index come before
        int index = lo * adapters - lo * (lo + 1) / 2 + (hi - lo - 1);
        return pairNulls.get(index);
    }

    /**
     * Layers where some pair's phi is undefined (one adapter's factor is zero there, or of rank below i or j) while the
     * pair has defined layers: left out of that pair's mean and of its null. Empty where there is none.
     */
    public java.util.List<Integer> layersLeftOut() {
        double[][] m = mean();
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (int l = 0; l < layers.length; l++) {
            boolean undefined = false;
            for (int a = 0; a < m.length; a++) {
                for (int b = a + 1; b < m.length; b++) {
                    undefined |= Double.isNaN(perLayer[l][a][b]) && !Double.isNaN(m[a][b]);
                }
            }
            if (undefined) {
                out.add(layers[l]);
            }
        }
        return out;
    }

    /** The adapters whose matrix is zero at every compared layer (an untrained adapter's C_B): no pair of theirs has phi. */
    public java.util.List<Integer> zeroAdapters() {
        return java.util.stream.IntStream.range(0, subspaceRanks.length)
                .filter(a -> java.util.Arrays.stream(subspaceRanks[a]).allMatch(q -> q == 0)).boxed().toList();
    }

    /** Whether two adapters have different ranks at some layer (then each pair meets a null of its own ranks). */
    public boolean ranksDiffer() {
        for (int[] adapter : ranks) {
            if (!java.util.Arrays.equals(adapter, ranks[0])) {
                return true;
            }
        }
        return false;
    }

    /** The largest rank any adapter has at any compared layer. */
    public int largestRank() {
        return java.util.Arrays.stream(ranks).flatMapToInt(java.util.Arrays::stream).max().orElse(0);
    }

    /** Adapters x adapters, averaged over layers (NaN cells skipped). */
    public double[][] mean() {
        int p = perLayer[0].length;
        double[][] m = new double[p][p];
        for (int a = 0; a < p; a++) {
            for (int b = 0; b < p; b++) {
                double s = 0;
                int n = 0;
                for (double[][] layer : perLayer) {
                    if (!Double.isNaN(layer[a][b])) {
                        s += layer[a][b];
                        n++;
                    }
                }
                m[a][b] = n == 0 ? Double.NaN : s / n;
            }
        }
        return m;
    }

    /** For an ordered run: phi of each adapter to the last one, averaged over layers. */
    public double[] toFinal() {
        double[][] m = mean();
        double[] out = new double[m.length];
        for (int a = 0; a < m.length; a++) {
            out[a] = m[a][m.length - 1];
        }
        return out;
    }

    /** For an ordered run: phi of each adapter to the one before it (NaN for the first). */
    public double[] toPrevious() {
        double[][] m = mean();
        double[] out = new double[m.length];
        out[0] = Double.NaN;
        for (int a = 1; a < m.length; a++) {
            out[a] = m[a][a - 1];
        }
        return out;
    }

    /** Per layer: the W0 null's mean phi between unrelated adapters (NaN if not computed). */
    public double[] w0NullPerLayer() {
        double[] out = new double[layers.length];
        for (int l = 0; l < layers.length; l++) {
            out[l] = w0Null == null ? Double.NaN : w0Null.mean()[l][l];
        }
        return out;
    }

    /** The W0 null's mean phi between unrelated adapters, averaged over layers. */
    public double w0NullMean() {
        return java.util.Arrays.stream(w0NullPerLayer()).average().orElse(Double.NaN);
    }

    /** The factor as files and tables name it: A, B, dW, or raw-A, raw-B for the controls. */
    public String factor() {
        return subject.startsWith("C_") ? subject.substring(2) : "raw-" + (subject.equals("A^T") ? "A" : subject);
    }

    public String stem() {
        return module + "." + factor() + "." + side.label();
    }

    /** Whether this is a raw-factor control (A^T or B between adapters) rather than a conversion matrix. */
    public boolean isControl() {
        return !subject.startsWith("C_");
    }
}
