package io.github.convsim.similarity;

import io.github.convsim.common.RandomMatrices;
import io.github.convsim.common.Seeds;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.W0System;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.Svd;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Positive controls for power: adapters that do share a conversion matrix. Layer l's factor is planted as
 * T_l = op(W0_l) M + eps s_l N_l (op(W0) as the module's C_A equation has it, M one Gaussian matrix for all layers,
 * N_l Gaussian noise, s_l = ||op(W0_l) M|| / ||N_l||, so eps is the noise's size relative to the shared part), and
 * its conversion matrix is solved through the same factors as the adapter's. Conversion is linear in T, so one solve of
 * [op(W0) M | N] per layer and repetition serves every noise level: C(eps) = solve(op(W0) M) + eps s solve(N).
 * phi is scale-invariant, so the adapter's own norms change nothing. Seeds derive from (seed, module, repetition,
 * layer): a streamed run and a whole-module run plant the same adapters. Where W0 is not square, C_B's equation is not
 * C_A's, and B is planted on its own (B_l = W0_l M + noise, factor B in the store, seeds of their own). In a module
 * whose layers have different ranks (rank_pattern) M has the largest rank and a layer of rank r takes its first r
 * columns, as a CondLoRA layer Wa of that rank would give each layer its first r rows (and as {@code convsim plant}
 * writes such adapters). C_dW = C_B A below its rank depends on A too: where its map is read there, C_dW is planted as
 * the factor's plant times a Gaussian A_l (r x in, seeded per layer and repetition, as the W0 null draws A), whose
 * bases come from the factors ({@link FactorBases#withProducts}), stored as factor dW.
 */
public final class PlantedControl {
    /** Relative noise levels, from a nearly exact shared map to noise several times its size. */
    public static final double[] NOISE = {0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5};
    /** Seeded repetitions per level. */
    public static final int REPETITIONS = 8;

    private PlantedControl() {}

    /** The store's draw index of noise level e, repetition k. */
    static int draw(int e, int k) {
        return e * REPETITIONS + k;
    }

    /** [M_1 | ... | M_R], the module's shared maps (cols x r each), drawn on every core from their own seeds. */
    private static Matrix sharedMaps(long seed, String label, String module, int cols, int r) {
        Matrix[] shared = new Matrix[REPETITIONS];
        IntStream.range(0, REPETITIONS).parallel().forEach(k -> shared[k] = RandomMatrices.gaussian(
                new SplittableRandom(Seeds.derive(seed, label, module, k)), cols, r, 1));
        return Matrix.hstack(List.of(shared));
    }

    /**
     * The seeds' label for {@code factor}'s plants (here and in {@link PlantedPairs}): C_A's as they always were, B's
     * (non-square W0) their own.
     */
    static String label(Factor factor, String what) {
        return factor == Factor.A ? what : what + "-" + factor.label();
    }

    /**
     * A planted conversion matrix at one noise level, C(eps) = solve(shared) + eps s solve(N): columns
     * [shared, shared + r) of the solved {@code x} plus w times columns [noise, noise + r).
     */
    static Matrix plus(Matrix x, int shared, int noise, int r, double w) {
        int n = x.rows();
        double[] c = new double[n * r];
        double[] d = x.data();
        for (int q = 0; q < c.length; q++) {
            c[q] = d[shared * n + q] + w * d[noise * n + q];
        }
        return new Matrix(n, r, c);
    }

    /**
     * Plants, solves and stores (as {@code factor}, draw {@link #draw}) the bases of a group of layers, in layer order,
     * through {@code equation}, the factor's; {@code sharedRank} is the module's largest rank, the shared maps' number
     * of columns. With {@code plantDw} (the plants of C_B's distribution, C_dW read below its rank) it stores C_dW's
     * plants too, as factor dW: each plant times a Gaussian A_l. With {@code plantDwRight} (C_dW read on the right)
     * factor dW's right side holds {@link #dwRight}'s plants: A's rows shared by all layers.
     */
    public static void sample(LinalgBackend backend, ConversionSolver solver, List<W0System> systems, Factor factor,
                              Equation equation, long seed, int keep, int sharedRank, boolean plantDw,
                              boolean plantDwRight, NullBasisStore store) {
        boolean transposed = equation == Equation.W0T_X;
        int layers = systems.size();
        // every layer's seeded draws at once, on every core: M_k is the module's (one per shape), N_l,k each layer's
        Map<String, Matrix> sharedByShape = new HashMap<>();
        Matrix[][] noise = new Matrix[layers][REPETITIONS];
        IntStream.range(0, layers * REPETITIONS).parallel().forEach(q -> {
            LoraModule m = systems.get(q / REPETITIONS).module();
            Matrix w0 = systems.get(q / REPETITIONS).w0();
            int k = q % REPETITIONS;
            noise[q / REPETITIONS][k] = RandomMatrices.gaussian(new SplittableRandom(Seeds.derive(seed,
                    label(factor, "planted-noise"), m.module(), m.layer(), k)), transposed ? w0.cols() : w0.rows(),
                    m.rank(), 1);
        });
        List<Matrix> sharedStacks = new ArrayList<>(layers);
        for (W0System s : systems) {
            LoraModule m = s.module();
            int cols = transposed ? s.w0().rows() : s.w0().cols();
            if (m.rank() > sharedRank) {
                throw new IllegalArgumentException("layer " + m.layer() + " of " + m.module() + " has rank " + m.rank()
                        + ", above the shared maps' " + sharedRank);
            }
            sharedStacks.add(sharedByShape.computeIfAbsent(m.module() + "/" + cols + "x" + sharedRank,
                    key -> sharedMaps(seed, label(factor, "planted-map"), m.module(), cols, sharedRank)));
        }
        // op(W0) [M_1 | ... | M_R] in one product per layer: W0 is read (and copied to the BLAS) once, not R times
        List<Matrix> planted = backend.gemm(systems.stream().map(W0System::w0).toList(), transposed, sharedStacks,
                false, Precision.FP64);
        List<Matrix> rhs = new ArrayList<>(layers);
        List<double[]> scales = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            int r = systems.get(l).module().rank();
            double[] scale = new double[REPETITIONS];
            List<Matrix> parts = new ArrayList<>(2 * REPETITIONS);
            if (r == sharedRank) {
                parts.add(planted.get(l));
            }
            for (int k = 0; k < REPETITIONS; k++) {
                Matrix own = planted.get(l).columnSlice(k * sharedRank, r);
                scale[k] = own.frobeniusNorm() / noise[l][k].frobeniusNorm();
                if (r < sharedRank) {
                    parts.add(own);
                }
            }
            parts.addAll(List.of(noise[l]));
            rhs.add(Matrix.hstack(parts));
            scales.add(scale);
        }
        List<Matrix> solved = solver.solve(systems, rhs, equation);
        FactorBases.Pair[][] right = plantDwRight ? dwRight(backend, solver, systems, factor, seed, sharedRank) : null;
        for (int l = 0; l < systems.size(); l++) {
            Matrix x = solved.get(l);
            LoraModule m = systems.get(l).module();
            int r = m.rank();
            List<FactorBases.RightFactor> aDw = plantDw ? FactorBases.rightFactors(backend,
                    gaussianA(seed, factor, m, systems.get(l).w0().cols())) : null;
            // one noise level at a time: R conversion matrices and their bases in flight, not all 12 R
            for (int e = 0; e < NOISE.length; e++) {
                List<Matrix> conversions = new ArrayList<>(REPETITIONS);
                for (int k = 0; k < REPETITIONS; k++) {
                    conversions.add(plus(x, k * r, (REPETITIONS + k) * r, r, NOISE[e] * scales.get(l)[k]));
                }
                // the plants' bases and, from the same SVDs, those of plant x A_l
                List<FactorBases.Pair[]> bases = plantDw ? FactorBases.withProducts(backend, conversions, aDw)
                        : FactorBases.of(backend, conversions).stream().map(p -> new FactorBases.Pair[] {p}).toList();
                for (int k = 0; k < REPETITIONS; k++) {
                    store.add(factor, draw(e, k), bases.get(k)[0].prefix(keep));
                    if (plantDw || plantDwRight) {
                        // left: C_B's plant times A (where read below the rank); right: A's rows shared
                        FactorBases.Pair rows = right == null ? null : right[l][draw(e, k)];
                        store.add(Factor.DW, draw(e, k), new FactorBases.Pair(plantDw ? bases.get(k)[1].left()
                                : rows.left(), rows == null ? bases.get(k)[1].right() : rows.right()).prefix(keep));
                    }
                }
            }
        }
    }

    /**
     * C_dW's plants on the right, [layer][draw]: C_dW = C_B A has A's row space (weighted by C_B) whatever W0 is, so
     * what its right side can share is A's rows. Layer l's A_l^T = G + eps s N_l (G one Gaussian draw per module of its
     * largest rank, of which a layer takes its first r columns; s = ||G|| / ||N_l||) and its B Gaussian, solved as C_B
     * is (as the W0 null draws both); bases from the factors, one SVD of each C_B for every noise level.
     */
    private static FactorBases.Pair[][] dwRight(LinalgBackend backend, ConversionSolver solver,
                                                List<W0System> systems, Factor factor, long seed, int sharedRank) {
        int layers = systems.size();
        List<Matrix> rhs = new ArrayList<>(layers);
        for (W0System s : systems) {
            LoraModule m = s.module();
            rhs.add(Matrix.hstack(IntStream.range(0, REPETITIONS).mapToObj(k -> RandomMatrices.gaussian(
                    new SplittableRandom(Seeds.derive(seed, label(factor, "planted-rows-b"), m.module(), m.layer(),
                            k)), s.w0().rows(), m.rank(), 1)).toList()));
        }
        List<Matrix> cB = solver.solve(systems, rhs, Equation.W0_X);
        Map<Integer, Matrix> sharedByIn = new HashMap<>();
        FactorBases.Pair[][] out = new FactorBases.Pair[layers][NOISE.length * REPETITIONS];
        for (int l = 0; l < layers; l++) {
            LoraModule m = systems.get(l).module();
            int r = m.rank();
            int in = systems.get(l).w0().cols();
            Matrix shared = sharedByIn.computeIfAbsent(in, n -> sharedMaps(seed, label(factor, "planted-rows"),
                    m.module(), n, sharedRank));
            List<Matrix> c = new ArrayList<>(REPETITIONS);
            Matrix[] rows = new Matrix[REPETITIONS]; // [G | N_l] of repetition k, in x 2r
            double[] scale = new double[REPETITIONS];
            for (int k = 0; k < REPETITIONS; k++) {
                c.add(cB.get(l).columnSlice(k * r, r));
                Matrix g = shared.columnSlice(k * sharedRank, r);
                Matrix noise = RandomMatrices.gaussian(new SplittableRandom(Seeds.derive(seed, label(factor,
                        "planted-rows-noise"), m.module(), m.layer(), k)), in, r, 1);
                scale[k] = g.frobeniusNorm() / noise.frobeniusNorm();
                rows[k] = Matrix.hstack(g, noise);
            }
            List<Svd> svds = backend.svd(c, true, Precision.FP64);
            for (int e = 0; e < NOISE.length; e++) {
                List<Matrix> a = new ArrayList<>(REPETITIONS);
                for (int k = 0; k < REPETITIONS; k++) {
                    a.add(plus(rows[k], 0, r, r, NOISE[e] * scale[k]).transpose());
                }
                List<FactorBases.Pair[]> bases = FactorBases.withProducts(backend, svds, c,
                        FactorBases.rightFactors(backend, a));
                for (int k = 0; k < REPETITIONS; k++) {
                    out[l][draw(e, k)] = bases.get(k)[1];
                }
            }
        }
        return out;
    }

    /** Layer m's Gaussian A (r x in) of each repetition, for C_dW's plants: the same at every noise level. */
    private static List<Matrix> gaussianA(long seed, Factor factor, LoraModule m, int in) {
        return IntStream.range(0, REPETITIONS).mapToObj(k -> RandomMatrices.gaussian(new SplittableRandom(
                Seeds.derive(seed, label(factor, "planted-dw-a"), m.module(), m.layer(), k)), m.rank(), in, 1))
                .toList();
    }
}
