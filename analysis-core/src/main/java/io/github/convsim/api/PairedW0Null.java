package io.github.convsim.api;

import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.W0System;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.model.LoraModule;
import io.github.convsim.pipeline.LayerGroups;
import io.github.convsim.pipeline.LayerStream;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SubspaceBasis;
import io.github.convsim.similarity.SubspaceSimilarity;
import io.github.convsim.similarity.W0Null;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * compare's W0 null for pairs of adapters: draws 2k and 2k+1 of the W0 null stand for two unrelated adapters on this
 * base, and phi between them at each layer is what a pair shares through W0 alone. Each pair of compared adapters is
 * measured against unrelated adapters of its own ranks: a layer's draws are made at the largest rank any adapter has
 * there, and a rank-r adapter's stand-in takes their first r columns (the first columns of Gaussian factors are
 * Gaussian factors of that rank, solved column by column), so adapters of different ranks (r = 4 against r = 8, or a
 * rank_pattern) no longer meet a null drawn at the first adapter's rank whatever the others have. Where all adapters
 * have one rank at every layer, every pair shares one null, drawn as before.
 */
final class PairedW0Null {
    private final int[][] ranks;
    private final int[][] pairs;
    private final boolean oneRank;
    /** phi[factor][side][pair][k][layer]; a single pair slot where every pair shares one null. */
    private final double[][][][][] phi;
    private final List<List<LoraModule>> perAdapter;

    /**
     * @param perAdapter each adapter's modules at the compared layers, in layer order
     * @param draws      pairs of draws (k = 0 .. draws - 1)
     */
    PairedW0Null(List<List<LoraModule>> perAdapter, int factors, int sides, int draws) {
        this.perAdapter = perAdapter;
        int adapters = perAdapter.size();
        int layers = perAdapter.get(0).size();
        ranks = new int[adapters][layers];
        boolean same = true;
        for (int a = 0; a < adapters; a++) {
            for (int l = 0; l < layers; l++) {
                ranks[a][l] = perAdapter.get(a).get(l).rank();
                same &= ranks[a][l] == ranks[0][l];
            }
        }
        oneRank = same;
        List<int[]> p = new ArrayList<>();
        for (int a = 0; a < adapters; a++) {
            for (int b = a + 1; b < adapters; b++) {
                p.add(new int[] {a, b});
            }
        }
        pairs = p.toArray(int[][]::new);
        phi = new double[factors][sides][oneRank ? 1 : pairs.length][draws][layers];
    }

    /**
     * Draws the group's layers: {@code LayerGroups.W0_NULL_DRAWS_PER_CHUNK} draws at a time from each layer's own
     * generator, so the values do not depend on how the layers were grouped.
     */
    void sample(LinalgBackend backend, ConversionSolver solver, List<W0System> systems, LayerStream.Group g,
                Equation eqA, List<Factor> factors, List<Side> sides, int i, int j, long seed) {
        int draws = phi[0][0][0].length;
        if (draws < 1) {
            return;
        }
        int layers = g.layers().size();
        List<LoraModule> widest = new ArrayList<>(layers);
        List<TreeSet<Integer>> needed = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            LoraModule w = perAdapter.get(0).get(g.from() + l);
            TreeSet<Integer> rs = new TreeSet<>();
            for (List<LoraModule> ms : perAdapter) {
                LoraModule m = ms.get(g.from() + l);
                rs.add(m.rank());
                if (m.rank() > w.rank()) {
                    w = m;
                }
            }
            widest.add(w);
            needed.add(rs);
        }
        List<RandomGenerator> rngs = W0Null.generators(widest, seed);
        for (int from = 0; from < 2 * draws; from += LayerGroups.W0_NULL_DRAWS_PER_CHUNK) {
            int count = Math.min(LayerGroups.W0_NULL_DRAWS_PER_CHUNK, 2 * draws - from);
            List<List<W0Null.Solved>> solved = W0Null.solve(solver, systems, widest, eqA, factors, count, rngs);
            // every (draw, layer, rank) the pairs need, reduced to bases in one batched call per factor
            List<W0Null.Solved> flat = new ArrayList<>();
            Map<String, Integer> at = new HashMap<>();
            for (int d = 0; d < count; d++) {
                for (int l = 0; l < layers; l++) {
                    for (int r : needed.get(l)) {
                        at.put(d + "/" + l + "/" + r, flat.size());
                        flat.add(solved.get(d).get(l).prefix(r));
                    }
                }
            }
            Map<Factor, List<FactorBases.Pair>> bases = W0Null.Solved.bases(backend, factors, flat);
            for (int fi = 0; fi < factors.size(); fi++) {
                List<FactorBases.Pair> fb = bases.get(factors.get(fi));
                for (int si = 0; si < sides.size(); si++) {
                    Side side = sides.get(si);
                    for (int k = 0; k < count / 2; k++) {
                        for (int l = 0; l < layers; l++) {
                            int layer = g.from() + l;
                            Map<Long, Double> byRanks = new LinkedHashMap<>();
                            for (int p = 0; p < phi[fi][si].length; p++) {
                                // at i = j phi is symmetric: the lower rank takes draw 2k whichever adapter has it,
                                // so the order the adapters are given in changes nothing
                                int r0 = ranks[pairs[p][0]][layer];
                                int r1 = ranks[pairs[p][1]][layer];
                                int ra = i == j ? Math.min(r0, r1) : r0;
                                int rb = i == j ? Math.max(r0, r1) : r1;
                                int kk = k;
                                int ll = l;
                                phi[fi][si][p][from / 2 + k][layer] = byRanks.computeIfAbsent((long) ra << 32 | rb,
                                        key -> {
                                            SubspaceBasis x = fb.get(at.get((2 * kk) + "/" + ll + "/" + ra)).side(side);
                                            SubspaceBasis y = fb.get(at.get((2 * kk + 1) + "/" + ll + "/" + rb))
                                                    .side(side);
                                            return SubspaceSimilarity.phi(backend, List.of(x.vectors(), y.vectors()),
                                                    new int[] {x.rank(), y.rank()}, i, j)[0][1];
                                        });
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The null of a map's mean over pairs: per draw, the mean over the compared pairs of each pair's null at its ranks
     * (one pair's value where all share one null). Its spread is one pair's, so the map's test is conservative. A
     * layer where a pair's {@code observed} phi is undefined (a zero factor) is left out of that pair's null.
     */
    NullDistribution forMap(int factor, int side, double[][][] observed) {
        boolean[][] undefined = undefined(observed);
        boolean[] untested = untested(observed);
        if (oneRank && undefined == null && !anyOf(untested)) {
            return pairedNull(phi[factor][side][0]);
        }
        int draws = phi[factor][side][0].length;
        int layers = observed.length;
        double[][][] byPair = new double[pairs.length][][];
        for (int p = 0; p < pairs.length; p++) {
            // a pair undefined at every layer (an untrained adapter's C_B) is not in the map's mean, nor in its null
            byPair[p] = untested[p] ? null : masked(factor, side, p, undefined);
        }
        double[][] cells = new double[draws][layers];
        double[] averages = new double[draws];
        for (int k = 0; k < draws; k++) {
            int draw = k;
            averages[k] = SubspaceSimilarity.meanOfPairMeans(java.util.Arrays.stream(byPair)
                    .filter(java.util.Objects::nonNull).map(pair -> pair[draw]).toArray(double[][]::new));
            for (int l = 0; l < layers; l++) {
                double s = 0;
                int n = 0;
                for (int p = 0; p < pairs.length; p++) {
                    double v = byPair[p] == null ? Double.NaN : byPair[p][k][l];
                    if (!Double.isNaN(v)) {
                        s += v;
                        n++;
                    }
                }
                cells[k][l] = n == 0 ? Double.NaN : s / n;
            }
        }
        NullDistribution c = pairedNull(cells);
        return new NullDistribution(c.name(), c.draws(), c.mean(), c.sd(), c.lo(), c.hi(), c.firstDraw(), averages);
    }

    /**
     * Each pair's own null (pairs a < b in order), without the layers where the pair's {@code observed} phi is
     * undefined; null where every pair shares the map's (one rank, nothing undefined).
     */
    List<NullDistribution> forPairs(int factor, int side, double[][][] observed) {
        boolean[][] undefined = undefined(observed);
        if (oneRank && undefined == null) {
            return null;
        }
        List<NullDistribution> out = new ArrayList<>(pairs.length);
        for (int p = 0; p < pairs.length; p++) {
            out.add(pairedNull(masked(factor, side, p, undefined)));
        }
        return out;
    }

    /**
     * [pair][layer]: where the observed phi of a pair is undefined while some of its layers are defined; null where
     * there is no such layer. (A pair undefined at every layer has no statistic and no test; its null stays whole.)
     */
    private boolean[][] undefined(double[][][] observed) {
        boolean[][] out = new boolean[pairs.length][observed.length];
        boolean any = false;
        for (int p = 0; p < pairs.length; p++) {
            boolean someDefined = false;
            for (int l = 0; l < observed.length; l++) {
                out[p][l] = Double.isNaN(observed[l][pairs[p][0]][pairs[p][1]]);
                someDefined |= !out[p][l];
            }
            if (!someDefined) {
                java.util.Arrays.fill(out[p], false);
            }
            for (boolean u : out[p]) {
                any |= u;
            }
        }
        return any ? out : null;
    }

    /**
     * Per pair, whether its {@code observed} phi is undefined at every layer: it has no statistic. Where no pair has
     * one (the map is undefined, with no test) none is flagged, and the map keeps its whole null to show.
     */
    private boolean[] untested(double[][][] observed) {
        boolean[] out = new boolean[pairs.length];
        boolean all = true;
        for (int p = 0; p < pairs.length; p++) {
            out[p] = true;
            for (double[][] layer : observed) {
                out[p] &= Double.isNaN(layer[pairs[p][0]][pairs[p][1]]);
            }
            all &= out[p];
        }
        return all ? new boolean[pairs.length] : out;
    }

    private static boolean anyOf(boolean[] flags) {
        for (boolean f : flags) {
            if (f) {
                return true;
            }
        }
        return false;
    }

    /** Pair p's null phi [k][layer], undefined where {@code undefined} says (the stored array where nothing is). */
    private double[][] masked(int factor, int side, int p, boolean[][] undefined) {
        double[][] drawn = phi[factor][side][oneRank ? 0 : p];
        if (undefined == null) {
            return drawn;
        }
        double[][] out = new double[drawn.length][];
        for (int k = 0; k < drawn.length; k++) {
            out[k] = drawn[k].clone();
            for (int l = 0; l < out[k].length; l++) {
                if (undefined[p][l]) {
                    out[k][l] = Double.NaN;
                }
            }
        }
        return out;
    }

    /**
     * The distribution from {@code phiByPair[k][layer]}: kept as a layers-long diagonal, and each draw's statistic (its
     * {@code averages} entry) is the mean over layers, the same statistic a pair of adapters is tested on.
     */
    private static NullDistribution pairedNull(double[][] phiByPair) {
        int draws = phiByPair.length;
        int layers = phiByPair[0].length;
        double[][][] samples = new double[draws][layers][layers];
        double[] means = new double[draws];
        for (int k = 0; k < draws; k++) {
            double s = 0;
            int n = 0;
            for (int l = 0; l < layers; l++) {
                java.util.Arrays.fill(samples[k][l], Double.NaN);
                samples[k][l][l] = phiByPair[k][l];
                if (!Double.isNaN(phiByPair[k][l])) {
                    s += phiByPair[k][l];
                    n++;
                }
            }
            means[k] = n == 0 ? Double.NaN : s / n;
        }
        NullDistribution cells = NullDistribution.of("w0", samples);
        return new NullDistribution(cells.name(), draws, cells.mean(), cells.sd(), cells.lo(), cells.hi(),
                cells.firstDraw(), means);
    }
}
