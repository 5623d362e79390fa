package io.github.convsim.condlora;

import io.github.convsim.common.RandomMatrices;
import io.github.convsim.common.Seeds;
import io.github.convsim.linalg.Matrix;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What a CondLoRA fit could detect: the fit of planted adapters that do share one linear layer, at each relative
 * noise level, over seeded repetitions.
 *
 * <p>Plant k of a module has one shared pair Ma_k, Mb_k [n, r] (Gaussian); at layer l its targets are
 * A_l^T = W0_l Ma_k + eps s_l N_l and B_l = W0_l Mb_k + eps s'_l N'_l, with N_l, N'_l Gaussian and s_l, s'_l scaling
 * them to the norm of the shared part, so eps is the noise's size relative to the shared layer's output (as in
 * analyze's planted controls). The stacked least squares is linear in its targets, so the fits of the shared part and
 * of the unit noise serve every eps: fit(eps) = fit(W0 M) + eps fit(N).
 *
 * @param noise   relative noise levels, increasing
 * @param r2A     r2A[e][k]: overall R^2 of A of plant k at noise[e]
 * @param r2B     likewise for B
 * @param dwError likewise, the relative error of the fitted update B^ A^
 */
public record SharedLayerPlants(double[] noise, double[][] r2A, double[][] r2B, double[][] dwError) {
    /**
     * Relative noise levels, from a nearly exact shared layer to noise fifty times its size: R^2 of unrelated
     * targets is near 1/L with a narrow spread, so a shared part of a few per cent of a target's norm squared is
     * still detectable.
     */
    public static final double[] NOISE = {0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20,
        30, 50};
    /** Plants per noise level. */
    public static final int REPETITIONS = 8;

    /**
     * The shared maps of every plant of {@code module}, side by side: [Ma_0 ... Ma_{R-1} Mb_0 ... Mb_{R-1}], each
     * [n, r].
     */
    static Matrix sharedMaps(long seed, String module, int n, int r) {
        List<Matrix> maps = new ArrayList<>(2 * REPETITIONS);
        for (String factor : List.of("A", "B")) {
            for (int k = 0; k < REPETITIONS; k++) {
                maps.add(RandomMatrices.standardGaussian(
                        new SplittableRandom(Seeds.derive(seed, "condlora-plant", module, factor, k)), n, r));
            }
        }
        return Matrix.hstack(maps);
    }

    /**
     * The noise of plant k at one layer, at the norm of its shared part {@code shared} (W0_l Ma_k or W0_l Mb_k):
     * s_l N_l.
     */
    static Matrix unitNoise(long seed, String module, String factor, int layer, int k, Matrix shared) {
        return RandomMatrices.gaussian(new SplittableRandom(Seeds.derive(seed, "condlora-plant-noise", module, factor,
                layer, k)), shared.rows(), shared.cols(), shared.frobeniusNorm());
    }

    /**
     * Plant k's targets at one layer and noise level, materialised: {A_l^T, B_l} = W0_l M + eps s N. For checking the
     * fit of the plants against a fit of the same factors read as an adapter.
     */
    public static Matrix[] targets(Matrix w0, long seed, String module, int layer, int rank, int k, double eps) {
        Matrix maps = w0.times(sharedMaps(seed, module, w0.cols(), rank));
        Matrix[] out = new Matrix[2];
        for (int f = 0; f < 2; f++) {
            Matrix shared = maps.columnSlice((f * REPETITIONS + k) * rank, rank);
            Matrix noise = unitNoise(seed, module, f == 0 ? "A" : "B", layer, k, shared);
            double[] d = shared.data();
            for (int i = 0; i < d.length; i++) {
                d[i] += eps * noise.data()[i];
            }
            out[f] = shared;
        }
        return out;
    }
}
