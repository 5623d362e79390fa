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
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.DecompositionSolver;
import org.apache.commons.math3.linear.NonPositiveDefiniteMatrixException;
import org.apache.commons.math3.linear.NonSymmetricMatrixException;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * Positive controls for compare's power: pairs of adapters that do share their conversion matrices. At each layer the
 * first adapter's A^T is Gaussian, as the W0 null's unrelated adapters' factors are (A1^T = G); the second's is the
 * same plus noise of relative size eps (A2^T = G + eps s N, s = ||G|| / ||N||), so at eps = 0 the two share everything
 * and for large eps they are two unrelated adapters, the W0 null's pair. Conversion is linear, so one solve of
 * [G | N] per layer and repetition serves every level: C2 = C1 + eps s solve(N). phi between the two (left singular
 * vectors) at each layer, averaged over layers, is the statistic a pair's test sees.
 *
 * <p>As analyze's planted controls, the plants are of C_A and speak for C_B and C_dW on the left where W0 is square:
 * there C_A = W0^-1 A^T and C_B = W0^-1 B are W0^-1 times Gaussian matrices of one shape alike, and C_dW on the left is
 * C_B's subspace. Where W0 is not square C_B's equation is not C_A's, and B is planted on its own (B1 = G, B2 = G +
 * eps s N, each [out, r], seeds of their own), for C_B and C_dW. Below a layer's rank C_dW = C_B A has leading
 * directions that depend on A too: there the pairs of C_B's distribution also give C_dW's, each adapter's plant times a
 * Gaussian A of its own (as the W0 null's unrelated adapters draw A). Seeds derive from (seed, module, layer,
 * repetition): a streamed run and a whole-module run plant the same pairs.
 */
public final class PlantedPairs {
    /** Relative noise levels, as analyze's planted controls. */
    public static final double[] NOISE = PlantedControl.NOISE;
    /** Seeded repetitions per level. */
    public static final int REPETITIONS = PlantedControl.REPETITIONS;

    private PlantedPairs() {}

    /**
     * The ranks of two adapters at one layer, the smaller first. A planted pair of these ranks takes the first
     * {@code first} columns of the layer's shared draw G and the first {@code second} of its noisy copy G + eps s N:
     * at eps = 0 the one's subspace lies in the other's, as for two adapters that share one conversion matrix cut to
     * their ranks.
     */
    public record Ranks(int first, int second) {
        public static Ranks of(int a, int b) {
            return new Ranks(Math.min(a, b), Math.max(a, b));
        }
    }

    /**
     * Where the plants' phi goes, by side: for every pair of ranks that two adapters have at some layer,
     * [noise level][repetition][layer], NaN at layers where no two adapters have those ranks.
     */
    public static Map<Side, Map<Ranks, double[][][]>> slots(List<List<LoraModule>> perAdapter, List<Side> sides) {
        Map<Side, Map<Ranks, double[][][]>> out = new java.util.EnumMap<>(Side.class);
        int layers = perAdapter.get(0).size();
        for (Side side : sides) {
            Map<Ranks, double[][][]> bySide = new java.util.LinkedHashMap<>();
            for (int l = 0; l < layers; l++) {
                for (Ranks r : ranksAt(perAdapter, l)) {
                    bySide.computeIfAbsent(r, key -> {
                        double[][][] phi = new double[NOISE.length][REPETITIONS][layers];
                        for (double[][] level : phi) {
                            for (double[] row : level) {
                                java.util.Arrays.fill(row, Double.NaN);
                            }
                        }
                        return phi;
                    });
                }
            }
            out.put(side, bySide);
        }
        return out;
    }

    /** The group's layers (indices) where two adapters have each pair of ranks. */
    private static Map<Ranks, List<Integer>> layersByRanks(List<List<LoraModule>> perAdapter) {
        Map<Ranks, List<Integer>> out = new java.util.LinkedHashMap<>();
        for (int l = 0; l < perAdapter.get(0).size(); l++) {
            for (Ranks r : ranksAt(perAdapter, l)) {
                out.computeIfAbsent(r, key -> new ArrayList<>()).add(l);
            }
        }
        return out;
    }

    /** The pairs of ranks two adapters have at layer l (one where all adapters have one rank there). */
    private static java.util.Set<Ranks> ranksAt(List<List<LoraModule>> perAdapter, int l) {
        java.util.Set<Ranks> out = new java.util.LinkedHashSet<>();
        for (int a = 0; a < perAdapter.size(); a++) {
            for (int b = a + 1; b < perAdapter.size(); b++) {
                out.add(Ranks.of(perAdapter.get(a).get(l).rank(), perAdapter.get(b).get(l).rank()));
            }
        }
        return out;
    }

    /** The largest rank any adapter has at layer l: the columns the layer's draws G and N have. */
    private static int drawnRank(List<List<LoraModule>> perAdapter, int l) {
        return perAdapter.stream().mapToInt(ms -> ms.get(l).rank()).max().orElseThrow();
    }

    /**
     * Plants and solves the pairs of a group of layers ({@code perAdapter}: each adapter's modules at the group's
     * layers) and puts phi between the two adapters of each, for every pair of ranks at each layer, on each side
     * {@code phi} holds ({@link #slots}), into {@code phi.get(side).get(ranks)[e][k][from + l]}, for noise level e,
     * repetition k and the group's layer l. With {@code dwPhi} (pairs of C_B's distribution, C_dW read below a rank)
     * it puts C_dW's phi there too, on the left, each adapter's plant times its own Gaussian A.
     */
    public static void sample(LinalgBackend backend, ConversionSolver solver, List<W0System> systems,
                              List<List<LoraModule>> perAdapter, Factor factor, Equation equation, int i, int j,
                              long seed, int from, Map<Side, Map<Ranks, double[][][]>> phi,
                              Map<Ranks, double[][][]> dwPhi) {
        List<LoraModule> modules = perAdapter.get(0);
        int layers = modules.size();
        List<Matrix> targets = new ArrayList<>(layers);
        List<Matrix[][]> drawn = new ArrayList<>(layers);
        int[] drawnRank = new int[layers];
        for (int l = 0; l < layers; l++) {
            drawnRank[l] = drawnRank(perAdapter, l);
            List<Matrix> shared = new ArrayList<>(2 * REPETITIONS);
            List<Matrix> noise = new ArrayList<>(REPETITIONS);
            Matrix[][] d = new Matrix[REPETITIONS][];
            for (int k = 0; k < REPETITIONS; k++) {
                d[k] = draws(seed, factor, modules.get(l), k, drawnRank[l]);
                shared.add(d[k][0]);
                noise.add(d[k][1]);
            }
            shared.addAll(noise);
            targets.add(Matrix.hstack(shared));
            drawn.add(d);
        }
        List<Matrix> solved = solver.solve(systems, targets, equation);
        Map<Ranks, List<Integer>> layersOf = layersByRanks(perAdapter);
        for (Map.Entry<Ranks, List<Integer>> at : layersOf.entrySet()) {
            Ranks ranks = at.getKey();
            List<Plan> plans = new ArrayList<>();
            for (int l : at.getValue()) {
                double[] scale = new double[REPETITIONS];
                for (int k = 0; k < REPETITIONS; k++) {
                    scale[k] = noiseScale(drawn.get(l)[k], ranks.second());
                }
                plans.add(new Plan(l, drawnRank[l], ranks, solved.get(l), scale));
            }
            for (Map.Entry<Side, Map<Ranks, double[][][]>> e : phi.entrySet()) {
                double[][][] out = e.getValue().get(ranks);
                if (e.getKey() != Side.LEFT || !(ranks.first() == i && ranks.second() == j && i == j)
                        || !fromGrams(backend, plans, from, out)) {
                    fromBases(backend, plans, i, j, from, e.getKey(), out, null);
                }
            }
            if (dwPhi != null) {
                List<Matrix[]> a = new ArrayList<>(plans.size() * REPETITIONS);
                for (Plan plan : plans) {
                    for (int k = 0; k < REPETITIONS; k++) {
                        a.add(plantedA(seed, factor, modules.get(plan.layer()), k, drawnRank[plan.layer()],
                                ranks));
                    }
                }
                fromBases(backend, plans, i, j, from, Side.LEFT, dwPhi.get(ranks), a);
            }
        }
    }

    /**
     * C_dW's planted pairs on the right, which share what its right singular vectors can share, A's rows (C_dW = C_B A
     * has A's row space whatever W0 is): the first adapter's A^T = G, the second's G + eps s N (drawn as the pairs of
     * A^T are, seeds of their own), each adapter's B Gaussian and solved as C_B is (as the W0 null's unrelated adapters
     * draw both). phi between the right singular vectors of C_B1 A1 and C_B2 A2, from the factors, into
     * {@code phi.get(ranks)[e][k][from + l]} ({@link #slots}) for each pair of ranks at each layer.
     */
    public static void sampleRows(LinalgBackend backend, ConversionSolver solver, List<W0System> systems,
                                  List<List<LoraModule>> perAdapter, int i, int j, long seed, int from,
                                  Map<Ranks, double[][][]> phi) {
        List<LoraModule> modules = perAdapter.get(0);
        int layers = modules.size();
        int[] drawnRank = new int[layers];
        Matrix[][][] rows = new Matrix[layers][REPETITIONS][]; // {G, N}, in x drawn rank
        List<Matrix> rhs = new ArrayList<>(layers); // [B1 of each repetition | B2 of each], out x 2 R drawn rank
        for (int l = 0; l < layers; l++) {
            LoraModule m = modules.get(l);
            drawnRank[l] = drawnRank(perAdapter, l);
            List<Matrix> b = new ArrayList<>(2 * REPETITIONS);
            Matrix[] second = new Matrix[REPETITIONS];
            for (int k = 0; k < REPETITIONS; k++) {
                Matrix[] d = rowDraws(seed, m, k, drawnRank[l]);
                rows[l][k] = new Matrix[] {d[0], d[1]};
                b.add(d[2]);
                second[k] = d[3];
            }
            b.addAll(List.of(second));
            rhs.add(Matrix.hstack(b));
        }
        List<Matrix> cB = solver.solve(systems, rhs, Equation.W0_X);
        Map<Ranks, List<Integer>> layersOf = layersByRanks(perAdapter);
        for (Map.Entry<Ranks, List<Integer>> at : layersOf.entrySet()) {
            Ranks ranks = at.getKey();
            List<Matrix> c1 = new ArrayList<>();
            List<Matrix> a1 = new ArrayList<>();
            List<Matrix> c2 = new ArrayList<>();
            List<Matrix> gn = new ArrayList<>(); // [G | N] at the second adapter's rank, for every noise level
            double[] scale = new double[at.getValue().size() * REPETITIONS];
            for (int l : at.getValue()) {
                for (int k = 0; k < REPETITIONS; k++) {
                    scale[c1.size()] = noiseScale(rows[l][k], ranks.second());
                    c1.add(cB.get(l).columnSlice(k * drawnRank[l], ranks.first()));
                    c2.add(cB.get(l).columnSlice((REPETITIONS + k) * drawnRank[l], ranks.second()));
                    a1.add(rows[l][k][0].columnSlice(0, ranks.first()).transpose());
                    gn.add(stacked(rows[l][k], ranks.second()));
                }
            }
            List<FactorBases.Pair> one = FactorBases.withProducts(backend, c1, FactorBases.rightFactors(backend, a1))
                    .stream().map(p -> p[1]).toList();
            List<Svd> svds2 = backend.svd(c2, true, Precision.FP64);
            for (int e = 0; e < NOISE.length; e++) {
                List<Matrix> a2 = new ArrayList<>(c2.size());
                for (int q = 0; q < gn.size(); q++) {
                    a2.add(secondA(gn.get(q), ranks.second(), NOISE[e] * scale[q]));
                }
                List<FactorBases.Pair> two = FactorBases.withProducts(backend, svds2, c2,
                        FactorBases.rightFactors(backend, a2)).stream().map(p -> p[1]).toList();
                putPhi(backend, one, two, Side.RIGHT, i, j, at.getValue(), from, phi.get(ranks)[e]);
            }
        }
    }

    /** Repetition k's draws at one layer for {@link #sampleRows}: G, N [in, drawn rank], B1, B2 [out, drawn rank]. */
    private static Matrix[] rowDraws(long seed, LoraModule m, int k, int drawnRank) {
        SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, "planted-pair-rows", m.module(), m.layer(), k));
        return new Matrix[] {RandomMatrices.standardGaussian(rng, m.in(), drawnRank),
            RandomMatrices.standardGaussian(rng, m.in(), drawnRank), RandomMatrices.standardGaussian(rng, m.out(),
                    drawnRank), RandomMatrices.standardGaussian(rng, m.out(), drawnRank)};
    }

    /**
     * Planted row pair k at one layer and noise level, materialised as PEFT stores it: {lora_A, lora_B} of the first
     * adapter (rank {@code ranks.first()}) and of the second; for checking the planted phi against a comparison of the
     * same factors read as adapters.
     */
    public static Matrix[][] plantedRows(long seed, LoraModule m, int k, double eps, int drawnRank, Ranks ranks) {
        Matrix[] d = rowDraws(seed, m, k, drawnRank);
        Matrix a2 = secondA(stacked(d, ranks.second()), ranks.second(), eps * noiseScale(d, ranks.second()));
        return new Matrix[][] {{d[0].columnSlice(0, ranks.first()).transpose(), d[2].columnSlice(0, ranks.first())},
            {a2, d[3].columnSlice(0, ranks.second())}};
    }

    /** [G | N] of a row pair's draws {G, N, ..}, each cut to its first {@code rank} columns. */
    private static Matrix stacked(Matrix[] d, int rank) {
        return Matrix.hstack(d[0].columnSlice(0, rank), d[1].columnSlice(0, rank));
    }

    /** The second adapter's A = (G + w N)^T, [rank, in], from {@link #stacked} [G | N]. */
    private static Matrix secondA(Matrix gn, int rank, double w) {
        return PlantedControl.plus(gn, 0, rank, rank, w).transpose();
    }

    /**
     * Repetition k's Gaussian A of each adapter of a planted pair at one layer, for C_dW: [first, in] and [second,
     * in], the first rows of draws of {@code drawnRank} rows (independent: two adapters train their own A). Public for
     * checking the planted phi against a comparison of the same factors read as adapters.
     */
    public static Matrix[] plantedA(long seed, Factor factor, LoraModule m, int k, int drawnRank, Ranks ranks) {
        SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, PlantedControl.label(factor,
                "planted-pair-dw-a"), m.module(), m.layer(), k));
        Matrix a1 = RandomMatrices.standardGaussian(rng, m.in(), drawnRank);
        Matrix a2 = RandomMatrices.standardGaussian(rng, m.in(), drawnRank);
        return new Matrix[] {a1.columnSlice(0, ranks.first()).transpose(),
            a2.columnSlice(0, ranks.second()).transpose()};
    }

    /**
     * One layer's plants for one pair of ranks: the solved [G_1 .. G_R | N_1 .. N_R] of {@code stride} columns each,
     * and s = ||G[:, :second]|| / ||N[:, :second]|| for each repetition.
     */
    private record Plan(int layer, int stride, Ranks ranks, Matrix solved, double[] scale) {
        Matrix first(int k) {
            return solved.columnSlice(k * stride, ranks.first());
        }

        Matrix second(int k, double eps) {
            return PlantedControl.plus(solved, k * stride, (REPETITIONS + k) * stride, ranks.second(), eps * scale[k]);
        }
    }

    /** s for the second adapter's first {@code rank} columns (all of them: the draws' own norms, as before ranks). */
    private static double noiseScale(Matrix[] d, int rank) {
        return rank == d[0].cols() ? d[0].frobeniusNorm() / d[1].frobeniusNorm()
                : d[0].columnSlice(0, rank).frobeniusNorm() / d[1].columnSlice(0, rank).frobeniusNorm();
    }

    /**
     * phi at i = j = r for two adapters of rank r, where it depends on the column spaces alone: with
     * P = C (C^T C)^-1 C^T the projector on a conversion matrix's columns, phi = tr(P1 P2) / r
     * = tr(G11^-1 G12 G22^-1 G12^T) / r, and with C2 = C1 + w N every Gram matrix is a polynomial in w of the blocks
     * of [C1 N]^T [C1 N], one r x r computation per level instead of an SVD. False (nothing written) where a Gram
     * matrix is not positive definite: a rank-deficient conversion matrix, left to the bases.
     */
    private static boolean fromGrams(LinalgBackend backend, List<Plan> plans, int from, double[][][] phi) {
        List<Matrix> stacks = new ArrayList<>(plans.size() * REPETITIONS);
        for (Plan plan : plans) {
            int r = plan.ranks().first();
            for (int k = 0; k < REPETITIONS; k++) {
                stacks.add(Matrix.hstack(plan.first(k), plan.solved().columnSlice((REPETITIONS + k) * plan.stride(),
                        r)));
            }
        }
        List<Matrix> grams = backend.gramOfColumns(stacks, io.github.convsim.linalg.Precision.FP64);
        double[][][] out = new double[NOISE.length][REPETITIONS][plans.size()];
        try {
            for (int l = 0; l < plans.size(); l++) {
                int r = plans.get(l).ranks().first();
                for (int k = 0; k < REPETITIONS; k++) {
                    // phi does not depend on the scale of C1 and N together: unit mean diagonal, so that the
                    // positivity threshold of the Cholesky factorisation means the same for every W0
                    RealMatrix g = new Array2DRowRealMatrix(rowMajor(grams.get(l * REPETITIONS + k)));
                    g = g.scalarMultiply(r / g.getSubMatrix(0, r - 1, 0, r - 1).getTrace());
                    RealMatrix g11 = g.getSubMatrix(0, r - 1, 0, r - 1);
                    RealMatrix cross = g.getSubMatrix(0, r - 1, r, 2 * r - 1);
                    RealMatrix nn = g.getSubMatrix(r, 2 * r - 1, r, 2 * r - 1);
                    DecompositionSolver first = new CholeskyDecomposition(g11).getSolver();
                    for (int e = 0; e < NOISE.length; e++) {
                        double w = NOISE[e] * plans.get(l).scale()[k];
                        RealMatrix g12 = g11.add(cross.scalarMultiply(w));
                        RealMatrix g22 = g11.add(cross.add(cross.transpose()).scalarMultiply(w))
                                .add(nn.scalarMultiply(w * w));
                        RealMatrix left = first.solve(g12); // G11^-1 G12
                        RealMatrix right = new CholeskyDecomposition(g22).getSolver().solve(g12.transpose());
                        out[e][k][l] = left.multiply(right).getTrace() / r;
                    }
                }
            }
        } catch (NonPositiveDefiniteMatrixException | NonSymmetricMatrixException rankDeficient) {
            return false;
        }
        for (int e = 0; e < NOISE.length; e++) {
            for (int k = 0; k < REPETITIONS; k++) {
                for (int l = 0; l < plans.size(); l++) {
                    phi[e][k][from + plans.get(l).layer()] = out[e][k][l];
                }
            }
        }
        return true;
    }

    private static double[][] rowMajor(Matrix m) {
        double[][] a = new double[m.rows()][m.cols()];
        for (int p = 0; p < m.rows(); p++) {
            for (int q = 0; q < m.cols(); q++) {
                a[p][q] = m.get(p, q);
            }
        }
        return a;
    }

    /**
     * phi from the conversion matrices' left or right singular vectors: any prefixes i, j. With {@code a} (per plan and
     * repetition, each adapter's A) from those of the products C A (C_dW's), from the factors.
     */
    private static void fromBases(LinalgBackend backend, List<Plan> plans, int i, int j, int from, Side side,
                                  double[][][] phi, List<Matrix[]> a) {
        List<Matrix> first = new ArrayList<>(plans.size() * REPETITIONS);
        for (Plan plan : plans) {
            for (int k = 0; k < REPETITIONS; k++) {
                first.add(plan.first(k));
            }
        }
        List<FactorBases.RightFactor> a1 = a == null ? null
                : FactorBases.rightFactors(backend, a.stream().map(x -> x[0]).toList());
        List<FactorBases.RightFactor> a2 = a == null ? null // one QR of each A serves every noise level
                : FactorBases.rightFactors(backend, a.stream().map(x -> x[1]).toList());
        List<FactorBases.Pair> one = a == null ? FactorBases.of(backend, first)
                : FactorBases.withProducts(backend, first, a1).stream().map(p -> p[1]).toList();
        for (int e = 0; e < NOISE.length; e++) {
            List<Matrix> second = new ArrayList<>(plans.size() * REPETITIONS);
            for (Plan plan : plans) {
                for (int k = 0; k < REPETITIONS; k++) {
                    second.add(plan.second(k, NOISE[e]));
                }
            }
            List<FactorBases.Pair> two = a == null ? FactorBases.of(backend, second)
                    : FactorBases.withProducts(backend, second, a2).stream().map(p -> p[1]).toList();
            putPhi(backend, one, two, side, i, j, plans.stream().map(Plan::layer).toList(), from, phi[e]);
        }
    }

    /**
     * phi between the first and second adapter of each plant, from their bases on {@code side} ({@code one} and
     * {@code two}, layer by layer of {@code layers}, repetition by repetition), into {@code phi[k][from + layer]}: every
     * pair's Gram matrix in one batched call.
     */
    private static void putPhi(LinalgBackend backend, List<FactorBases.Pair> one, List<FactorBases.Pair> two,
                               Side side, int i, int j, List<Integer> layers, int from, double[][] phi) {
        List<List<Matrix>> sets = new ArrayList<>(one.size());
        for (int q = 0; q < one.size(); q++) {
            sets.add(List.of(one.get(q).side(side).vectors(), two.get(q).side(side).vectors()));
        }
        List<Matrix> grams = SubspaceSimilarity.grams(backend, sets, i, j);
        for (int l = 0; l < layers.size(); l++) {
            for (int k = 0; k < REPETITIONS; k++) {
                int q = l * REPETITIONS + k;
                phi[k][from + layers.get(l)] = SubspaceSimilarity.fromGram(grams.get(q), new int[] {
                    one.get(q).side(side).rank(), two.get(q).side(side).rank()}, i, j)[0][1];
            }
        }
    }

    /**
     * Repetition k's draws of {@code factor} at one layer: G and N, each [in, rank] for A^T, [out, rank] for B (seeds
     * labelled apart).
     */
    private static Matrix[] draws(long seed, Factor factor, LoraModule m, int k, int rank) {
        SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, PlantedControl.label(factor, "planted-pair"),
                m.module(), m.layer(), k));
        int rows = factor == Factor.A ? m.in() : m.out();
        return new Matrix[] {RandomMatrices.standardGaussian(rng, rows, rank),
            RandomMatrices.standardGaussian(rng, rows, rank)};
    }

    /**
     * Planted pair k's {@code factor} at one layer and noise level, materialised for both adapters as PEFT stores it
     * (lora_A [rank, in], lora_B [out, rank]) at ranks {@code ranks} (the first adapter's {@code first}, the second's
     * {@code second}), from draws of {@code drawnRank} columns (the largest rank any adapter has at the layer): for
     * checking the planted phi against a comparison of the same factors read as adapters.
     */
    public static Matrix[] plantedFactor(long seed, Factor factor, LoraModule m, int k, double eps, int drawnRank,
                                         Ranks ranks) {
        Matrix[] d = draws(seed, factor, m, k, drawnRank);
        Matrix second = d[0].columnSlice(0, ranks.second()).copy();
        Matrix noise = d[1].columnSlice(0, ranks.second());
        double w = eps * noiseScale(d, ranks.second());
        for (int q = 0; q < second.data().length; q++) {
            second.data()[q] += w * noise.data()[q];
        }
        Matrix first = d[0].columnSlice(0, ranks.first());
        return factor == Factor.A ? new Matrix[] {first.transpose(), second.transpose()}
                : new Matrix[] {first, second};
    }

    /**
     * The conversion maps the pairs planted as {@code planted} speak for on one side, by analyze's rule ({@link
     * SimilarityAnalysis#plantsFor}): A's for C_A, and through a square W0 for C_B too (its pairs and null have C_A's
     * distributions) and on the left C_dW at i = j = r; B's (a non-square W0) for C_B and there C_dW; dW's for C_dW.
     */
    public static java.util.Set<String> speaksFor(Factor planted, Side side, Equation equationA, boolean belowRank) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (Factor f : Factor.values()) {
            if (SimilarityAnalysis.plantsFor(f, side, equationA, belowRank) == planted) {
                out.add("C_" + f.label());
            }
        }
        return java.util.Set.copyOf(out);
    }

    /**
     * The power curve of the maps it speaks for, from the plants' {@code phi} by pair of ranks ({@link #slots}), each
     * plant's statistic taken as the map's is from {@code observed[layer][a][b]}: per pair of adapters (whose plants at
     * layer l are those of its ranks there, {@code ranks[adapter][layer]}), the mean over the layers where that pair's
     * phi is defined (a layer where an adapter's factor is zero is left out), then the mean over pairs.
     */
    public static PowerCurve curve(Map<Ranks, double[][][]> phi, int[][] ranks, double[][][] observed,
                                   java.util.Set<String> speaksFor) {
        int layers = observed.length;
        int adapters = observed[0].length;
        double[][] averages = new double[NOISE.length][];
        for (int e = 0; e < NOISE.length; e++) {
            averages[e] = new double[REPETITIONS];
            for (int k = 0; k < REPETITIONS; k++) {
                // the plant as every pair, each without the layers where the map leaves that pair out
                double[][] byPair = new double[adapters * (adapters - 1) / 2][layers];
                int p = 0;
                for (int a = 0; a < adapters; a++) {
                    for (int b = a + 1; b < adapters; b++, p++) {
                        for (int l = 0; l < layers; l++) {
                            byPair[p][l] = Double.isNaN(observed[l][a][b]) ? Double.NaN
                                    : phi.get(Ranks.of(ranks[a][l], ranks[b][l]))[e][k][l];
                        }
                    }
                }
                averages[e][k] = SubspaceSimilarity.meanOfPairMeans(byPair);
            }
        }
        return new PowerCurve(NOISE.clone(), averages, speaksFor);
    }
}
