package io.github.convsim.similarity;

import io.github.convsim.common.RandomMatrices;
import io.github.convsim.common.Seeds;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.W0System;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * The W0 null's samples: each layer's A and B replaced by Gaussian matrices and solved against the same factored W0
 * (all draws of a layer in one solve), then reduced to bases like the observed ones.
 * What similarity these give is what W0 alone produces.
 */
public final class W0Null {
    private W0Null() {}

    /** Bases by factor, then draw, then layer: all draws at once. */
    public static Map<Factor, List<List<FactorBases.Pair>>> sample(LinalgBackend backend, ConversionSolver solver,
                                                                   List<W0System> systems, List<LoraModule> modules,
                                                                   Equation equationA, List<Factor> factors,
                                                                   int draws, long seed) {
        return sample(backend, solver, systems, modules, equationA, factors, draws, generators(modules, seed));
    }

    /**
     * Each layer's random stream, seeded by (seed, module, layer): drawing in several chunks from the same generators
     * gives the draws one call would.
     */
    public static List<RandomGenerator> generators(List<LoraModule> modules, long seed) {
        List<RandomGenerator> out = new ArrayList<>(modules.size());
        for (LoraModule m : modules) {
            out.add(new SplittableRandom(Seeds.derive(seed, "w0-null", m.module(), m.layer())));
        }
        return out;
    }

    /** The next {@code draws} draws from {@code rngs} (one per layer), by factor, then draw, then layer. */
    public static Map<Factor, List<List<FactorBases.Pair>>> sample(LinalgBackend backend, ConversionSolver solver,
                                                                   List<W0System> systems, List<LoraModule> modules,
                                                                   Equation equationA, List<Factor> factors,
                                                                   int draws, List<RandomGenerator> rngs) {
        List<List<Solved>> solved = solve(solver, systems, modules, equationA, factors, draws, rngs);
        int layers = modules.size();
        // flatten (draw, layer) so each factor's bases come from one batched call
        List<Solved> flat = new ArrayList<>(draws * layers);
        solved.forEach(flat::addAll);
        Map<Factor, List<FactorBases.Pair>> bases = Solved.bases(backend, factors, flat);
        Map<Factor, List<List<FactorBases.Pair>>> out = new EnumMap<>(Factor.class);
        for (Factor f : factors) {
            List<FactorBases.Pair> all = bases.get(f);
            List<List<FactorBases.Pair>> byDraw = new ArrayList<>(draws);
            for (int d = 0; d < draws; d++) {
                byDraw.add(all.subList(d * layers, (d + 1) * layers));
            }
            out.put(f, byDraw);
        }
        return out;
    }

    /**
     * One draw of one layer solved: C_A and C_B of Gaussian factors (null where {@code factors} do not need them) and
     * the Gaussian A itself (C_dW = C_B A).
     */
    public record Solved(Matrix cA, Matrix cB, Matrix a) {
        /**
         * The same draw at rank {@code r} (at most its own): C_A's and C_B's first r columns, A's first r rows. The
         * first r rows and columns of i.i.d. Gaussian factors are i.i.d. Gaussian factors of rank r, and the solves
         * are column by column, so this is a draw of rank r through the same W0.
         */
        public Solved prefix(int r) {
            if (r == a.rows()) {
                return this;
            }
            return new Solved(cA == null ? null : cA.columnSlice(0, r), cB == null ? null : cB.columnSlice(0, r),
                    a.rowSlice(0, r));
        }

        /** Bases of each factor of {@code solved}, in its order, from one batched call per factor. */
        public static Map<Factor, List<FactorBases.Pair>> bases(LinalgBackend backend, List<Factor> factors,
                                                              List<Solved> solved) {
            return FactorBases.ofFactors(backend, factors, solved.stream().map(Solved::cA).toList(),
                    solved.stream().map(Solved::cB).toList(), solved.stream().map(Solved::a).toList());
        }
    }

    /** The next {@code draws} draws from {@code rngs} (one per layer) solved through W0: [draw][layer]. */
    public static List<List<Solved>> solve(ConversionSolver solver, List<W0System> systems, List<LoraModule> modules,
                                           Equation equationA, List<Factor> factors, int draws,
                                           List<RandomGenerator> rngs) {
        int layers = modules.size();
        boolean needA = factors.contains(Factor.A);
        boolean needB = factors.contains(Factor.B) || factors.contains(Factor.DW);
        // one layer's draws per task: each layer has its own generator, so the values do not depend on the threads
        Draws[] drawn = new Draws[layers];
        java.util.stream.IntStream.range(0, layers).parallel()
                .forEach(l -> drawn[l] = Draws.of(modules.get(l), rngs.get(l), draws));
        List<Matrix> ats = java.util.Arrays.stream(drawn).map(d -> d.at).toList();
        List<Matrix> bs = java.util.Arrays.stream(drawn).map(d -> d.b).toList();
        List<Matrix> cA = null;
        List<Matrix> cB = null;
        if (needA && needB) {
            ConversionSolver.PerFactor both = solver.solveBoth(systems, ats, bs, equationA);
            cA = both.a();
            cB = both.b();
        } else if (needA) {
            cA = solver.solve(systems, ats, equationA);
        } else if (needB) {
            cB = solver.solve(systems, bs, Equation.W0_X);
        }
        List<List<Solved>> out = new ArrayList<>(draws);
        for (int d = 0; d < draws; d++) {
            List<Solved> atDraw = new ArrayList<>(layers);
            for (int l = 0; l < layers; l++) {
                int r = modules.get(l).rank();
                atDraw.add(new Solved(needA ? cA.get(l).columnSlice(d * r, r) : null,
                        needB ? cB.get(l).columnSlice(d * r, r) : null, drawn[l].as.get(d)));
            }
            out.add(atDraw);
        }
        return out;
    }

    /**
     * One layer's draws, A_d [r, in] and B_d [out, r] with i.i.d. standard normal entries, in the generator's order
     * (A_d, then B_d, draw by draw), side by side: A^T = [A_1^T | ... ] and B = [B_1 | ... ]. They are not scaled to
     * the adapter's norms: bases, and so phi, are invariant to scale, and unscaled draws depend on W0, the rank, the
     * seed, the module and the layer only, so any adapter of that rank on that base gets the same null.
     */
    private record Draws(Matrix at, Matrix b, List<Matrix> as) {
        static Draws of(LoraModule m, RandomGenerator rng, int draws) {
            List<Matrix> as = new ArrayList<>(draws);
            List<Matrix> ats = new ArrayList<>(draws);
            List<Matrix> bs = new ArrayList<>(draws);
            for (int d = 0; d < draws; d++) {
                Matrix ad = RandomMatrices.standardGaussian(rng, m.rank(), m.in());
                as.add(ad);
                ats.add(ad.transpose());
                bs.add(RandomMatrices.standardGaussian(rng, m.out(), m.rank()));
            }
            return new Draws(Matrix.hstack(ats), Matrix.hstack(bs), as);
        }
    }
}
