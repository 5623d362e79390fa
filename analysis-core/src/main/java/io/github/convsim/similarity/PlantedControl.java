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
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Positive controls for power: adapters that do share a conversion matrix. Layer l's factor is planted as
 * T_l = op(W0_l) M + eps s_l N_l (op(W0) as the module's C_A equation has it, M one Gaussian matrix for all layers,
 * N_l Gaussian noise, s_l = ||op(W0_l) M|| / ||N_l||, so eps is the noise's size relative to the shared part), and
 * its conversion matrix is solved through the same factors as the adapter's. Conversion is linear in T, so one solve of
 * [op(W0) M | N] per layer and repetition serves every noise level: C(eps) = solve(op(W0) M) + eps s solve(N).
 * phi is scale-invariant, so the adapter's own norms change nothing. Seeds derive from (seed, module, repetition,
 * layer): a streamed run and a whole-module run plant the same adapters.
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

    /** Plants, solves and stores (factor A, draw {@link #draw}) the bases of a group of layers, in layer order. */
    public static void sample(LinalgBackend backend, ConversionSolver solver, List<W0System> systems,
                              Equation equation, long seed, int keep, NullBasisStore store) {
        boolean transposed = equation == Equation.W0T_X;
        List<Matrix> rhs = new ArrayList<>(systems.size());
        List<double[]> scales = new ArrayList<>(systems.size());
        for (W0System s : systems) {
            LoraModule m = s.module();
            Matrix w0 = s.w0();
            int rows = transposed ? w0.cols() : w0.rows();
            int cols = transposed ? w0.rows() : w0.cols();
            int r = m.rank();
            List<Matrix> shared = new ArrayList<>(REPETITIONS);
            List<Matrix> noise = new ArrayList<>(REPETITIONS);
            for (int k = 0; k < REPETITIONS; k++) {
                shared.add(RandomMatrices.gaussian(new SplittableRandom(Seeds.derive(seed, "planted-map", m.module(),
                        k)), cols, r, 1));
                noise.add(RandomMatrices.gaussian(new SplittableRandom(Seeds.derive(seed, "planted-noise",
                        m.module(), m.layer(), k)), rows, r, 1));
            }
            // op(W0) [M_1 | ... | M_R] in one product: W0 is read (and copied to the BLAS) once, not R times
            Matrix planted = backend.gemm(List.of(w0), transposed, List.of(Matrix.hstack(shared)), false,
                    Precision.FP64).get(0);
            double[] scale = new double[REPETITIONS];
            for (int k = 0; k < REPETITIONS; k++) {
                scale[k] = planted.columnSlice(k * r, r).frobeniusNorm() / noise.get(k).frobeniusNorm();
            }
            List<Matrix> parts = new ArrayList<>(List.of(planted));
            parts.addAll(noise);
            rhs.add(Matrix.hstack(parts));
            scales.add(scale);
        }
        List<Matrix> solved = solver.solve(systems, rhs, equation);
        for (int l = 0; l < systems.size(); l++) {
            Matrix x = solved.get(l);
            int n = x.rows();
            int r = systems.get(l).module().rank();
            // one noise level at a time: R conversion matrices and their bases in flight, not all 12 R
            for (int e = 0; e < NOISE.length; e++) {
                List<Matrix> conversions = new ArrayList<>(REPETITIONS);
                for (int k = 0; k < REPETITIONS; k++) {
                    double[] c = new double[n * r];
                    double w = NOISE[e] * scales.get(l)[k];
                    int sharedAt = k * n * r;
                    int noiseAt = (REPETITIONS + k) * n * r;
                    for (int i = 0; i < c.length; i++) {
                        c[i] = x.data()[sharedAt + i] + w * x.data()[noiseAt + i];
                    }
                    conversions.add(new Matrix(n, r, c));
                }
                List<FactorBases.Pair> bases = FactorBases.of(backend, conversions);
                for (int k = 0; k < REPETITIONS; k++) {
                    store.add(Factor.A, draw(e, k), bases.get(k).prefix(keep));
                }
            }
        }
    }
}
