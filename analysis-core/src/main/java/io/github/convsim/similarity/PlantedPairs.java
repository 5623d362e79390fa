package io.github.convsim.similarity;

import io.github.convsim.common.RandomMatrices;
import io.github.convsim.common.Seeds;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.W0System;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
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
 * C_B's subspace. Seeds derive from (seed, module, layer, repetition): a streamed run and a whole-module run plant the
 * same pairs.
 */
public final class PlantedPairs {
    /** Relative noise levels, as analyze's planted controls. */
    public static final double[] NOISE = PlantedControl.NOISE;
    /** Seeded repetitions per level. */
    public static final int REPETITIONS = PlantedControl.REPETITIONS;

    private PlantedPairs() {}

    /**
     * Plants and solves the pairs of a group of layers and puts phi between the two adapters of each, on each side
     * {@code phi} holds, into {@code phi.get(side)[e][k][from + l]}, for noise level e, repetition k and the group's
     * layer l.
     */
    public static void sample(LinalgBackend backend, ConversionSolver solver, List<W0System> systems,
                              List<LoraModule> modules, Equation equationA, int i, int j, long seed, int from,
                              Map<Side, double[][][]> phi) {
        int layers = modules.size();
        List<Matrix> targets = new ArrayList<>(layers);
        double[][] scale = new double[layers][REPETITIONS];
        for (int l = 0; l < layers; l++) {
            List<Matrix> shared = new ArrayList<>(2 * REPETITIONS);
            List<Matrix> noise = new ArrayList<>(REPETITIONS);
            for (int k = 0; k < REPETITIONS; k++) {
                Matrix[] d = draws(seed, modules.get(l), k);
                scale[l][k] = d[0].frobeniusNorm() / d[1].frobeniusNorm();
                shared.add(d[0]);
                noise.add(d[1]);
            }
            shared.addAll(noise);
            targets.add(Matrix.hstack(shared));
        }
        List<Matrix> solved = solver.solve(systems, targets, equationA);
        for (Map.Entry<Side, double[][][]> e : phi.entrySet()) {
            if (e.getKey() != Side.LEFT || !wholeSubspaces(modules, i, j)
                    || !fromGrams(backend, modules, solved, scale, from, e.getValue())) {
                fromBases(backend, modules, solved, scale, i, j, from, e.getKey(), e.getValue());
            }
        }
    }

    private static boolean wholeSubspaces(List<LoraModule> modules, int i, int j) {
        return modules.stream().allMatch(m -> m.rank() == i && m.rank() == j);
    }

    /**
     * phi at i = j = r, where it depends on the column spaces alone: with P = C (C^T C)^-1 C^T the projector on a
     * conversion matrix's columns, phi = tr(P1 P2) / r = tr(G11^-1 G12 G22^-1 G12^T) / r, and with C2 = C1 + w N every
     * Gram matrix is a polynomial in w of the blocks of [C1 N]^T [C1 N], one r x r computation per level instead of
     * an SVD. False (nothing written) where a Gram matrix is not positive definite: a rank-deficient conversion
     * matrix, left to the bases.
     */
    private static boolean fromGrams(LinalgBackend backend, List<LoraModule> modules, List<Matrix> solved,
                                     double[][] scale, int from, double[][][] phi) {
        int layers = modules.size();
        List<Matrix> stacks = new ArrayList<>(layers * REPETITIONS);
        for (int l = 0; l < layers; l++) {
            int r = modules.get(l).rank();
            for (int k = 0; k < REPETITIONS; k++) {
                stacks.add(Matrix.hstack(solved.get(l).columnSlice(k * r, r),
                        solved.get(l).columnSlice((REPETITIONS + k) * r, r)));
            }
        }
        List<Matrix> grams = backend.gramOfColumns(stacks, io.github.convsim.linalg.Precision.FP64);
        double[][][] out = new double[NOISE.length][REPETITIONS][layers];
        try {
            for (int l = 0; l < layers; l++) {
                int r = modules.get(l).rank();
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
                        double w = NOISE[e] * scale[l][k];
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
                System.arraycopy(out[e][k], 0, phi[e][k], from, layers);
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

    /** phi from the conversion matrices' left or right singular vectors: any prefixes i, j. */
    private static void fromBases(LinalgBackend backend, List<LoraModule> modules, List<Matrix> solved,
                                  double[][] scale, int i, int j, int from, Side side, double[][][] phi) {
        int layers = modules.size();
        List<Matrix> first = new ArrayList<>(layers * REPETITIONS);
        for (int l = 0; l < layers; l++) {
            int r = modules.get(l).rank();
            for (int k = 0; k < REPETITIONS; k++) {
                first.add(solved.get(l).columnSlice(k * r, r));
            }
        }
        List<FactorBases.Pair> one = FactorBases.of(backend, first);
        for (int e = 0; e < NOISE.length; e++) {
            List<Matrix> second = new ArrayList<>(layers * REPETITIONS);
            for (int l = 0; l < layers; l++) {
                int r = modules.get(l).rank();
                for (int k = 0; k < REPETITIONS; k++) {
                    second.add(PlantedControl.plus(solved.get(l), k * r, (REPETITIONS + k) * r, r, NOISE[e] * scale[l][k]));
                }
            }
            List<FactorBases.Pair> two = FactorBases.of(backend, second);
            // every pair's Gram matrix in one batched call
            List<List<Matrix>> sets = new ArrayList<>(layers * REPETITIONS);
            for (int q = 0; q < layers * REPETITIONS; q++) {
                sets.add(List.of(one.get(q).side(side).vectors(), two.get(q).side(side).vectors()));
            }
            List<Matrix> grams = SubspaceSimilarity.grams(backend, sets, i, j);
            for (int l = 0; l < layers; l++) {
                for (int k = 0; k < REPETITIONS; k++) {
                    int q = l * REPETITIONS + k;
                    phi[e][k][from + l] = SubspaceSimilarity.fromGram(grams.get(q), new int[] {
                        one.get(q).side(side).rank(), two.get(q).side(side).rank()}, i, j)[0][1];
                }
            }
        }
    }

    /** Repetition k's draws at one layer: G and N, each [in, r]. */
    private static Matrix[] draws(long seed, LoraModule m, int k) {
        SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, "planted-pair", m.module(), m.layer(), k));
        return new Matrix[] {RandomMatrices.standardGaussian(rng, m.in(), m.rank()),
            RandomMatrices.standardGaussian(rng, m.in(), m.rank())};
    }

    /**
     * Planted pair k's lora_A at one layer and noise level, materialised for both adapters {A1, A2}, each [r, in]:
     * for checking the planted phi against a comparison of the same factors read as adapters.
     */
    public static Matrix[] loraA(long seed, LoraModule m, int k, double eps) {
        Matrix[] d = draws(seed, m, k);
        Matrix second = d[0].copy();
        double w = eps * d[0].frobeniusNorm() / d[1].frobeniusNorm();
        for (int q = 0; q < second.data().length; q++) {
            second.data()[q] += w * d[1].data()[q];
        }
        return new Matrix[] {d[0].transpose(), second.transpose()};
    }

    /**
     * The conversion maps the plants (pairs whose C_A agree up to noise) speak for on one side: C_A; through a square
     * W0 C_B too (its pairs and null have C_A's distributions), and on the left C_dW (on the right its singular vectors
     * are A's row space whatever W0 is).
     */
    public static java.util.Set<String> speaksFor(Side side, boolean squareW0) {
        return !squareW0 ? java.util.Set.of("C_A") : side == Side.LEFT ? java.util.Set.of("C_A", "C_B", "C_dW")
                : java.util.Set.of("C_A", "C_B");
    }

    /**
     * The power curve of the maps it speaks for, from {@code phi[e][k][layer]}, each plant's statistic taken as the
     * map's is from {@code observed[layer][a][b]}: per pair of adapters, the mean over the layers where that pair's
     * phi is defined (a layer where an adapter's factor is zero is left out), then the mean over pairs.
     */
    public static PowerCurve curve(double[][][] phi, double[][][] observed, java.util.Set<String> speaksFor) {
        int layers = observed.length;
        int adapters = observed[0].length;
        double[][] averages = new double[phi.length][];
        for (int e = 0; e < phi.length; e++) {
            averages[e] = new double[phi[e].length];
            for (int k = 0; k < phi[e].length; k++) {
                // the plant as every pair, each without the layers where the map leaves that pair out
                double[][] byPair = new double[adapters * (adapters - 1) / 2][layers];
                int p = 0;
                for (int a = 0; a < adapters; a++) {
                    for (int b = a + 1; b < adapters; b++, p++) {
                        for (int l = 0; l < layers; l++) {
                            byPair[p][l] = Double.isNaN(observed[l][a][b]) ? Double.NaN : phi[e][k][l];
                        }
                    }
                }
                averages[e][k] = SubspaceSimilarity.meanOfPairMeans(byPair);
            }
        }
        return new PowerCurve(NOISE.clone(), averages, speaksFor);
    }
}
