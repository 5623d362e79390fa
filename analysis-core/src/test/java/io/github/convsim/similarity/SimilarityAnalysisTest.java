package io.github.convsim.similarity;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.CpuBackendTest;
import io.github.convsim.TestData;
import io.github.convsim.conversion.ConversionAnalysis;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.ModuleConversion;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;

class SimilarityAnalysisTest extends CpuBackendTest {

    record Setup(List<LoraModule> layers, List<Matrix> w0s) {}

    static Setup setup(long seed, int layers, int n, int r) {
        return setup(seed, layers, n, n, r);
    }

    /** Gaussian layers of rank r with Gaussian W0 of out x in (least squares where they are not square). */
    static Setup setup(long seed, int layers, int out, int in, int r) {
        Random rng = new Random(seed);
        List<LoraModule> ls = new ArrayList<>();
        List<Matrix> ws = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            ls.add(new LoraModule("m", "x." + l + ".m", l, "k", false, 0, r, r, 1,
                    new Matrix(r, in, TestData.gaussian(rng, r * in)),
                    new Matrix(out, r, TestData.gaussian(rng, out * r)), false));
            ws.add(new Matrix(out, in, TestData.gaussian(rng, out * in)));
        }
        return new Setup(ls, ws);
    }

    static List<Heatmap> run(Setup s, SimilaritySettings settings) {
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        ModuleConversion conv = ConversionAnalysis.convert(solver, s.layers, s.w0s);
        return new SimilarityAnalysis(backend, settings).analyze(solver, conv);
    }

    static SimilaritySettings settings(long seed) {
        return new SimilaritySettings(0, 0, List.of(Side.LEFT, Side.RIGHT), List.of(Factor.A, Factor.B, Factor.DW),
                Set.of(NullModel.GAUSSIAN, NullModel.W0, NullModel.ANALYTIC), 16, seed, Set.of("A", "B", "W0"));
    }

    static Heatmap find(List<Heatmap> maps, String subject, Side side) {
        return maps.stream().filter(h -> h.subject().equals(subject) && h.side() == side).findFirst().orElseThrow();
    }

    /**
     * A layer whose B is zero has no C_B subspace: its pairs are left out of the map's average, and of the nulls'
     * averages too, so both are over the same pairs (the nulls averaged over every pair, a narrower spread).
     */
    @Test
    void aLayerWithoutItsFactorIsLeftOutOfTheMapAndOfItsNulls() {
        Setup s = setup(51, 5, 16, 2);
        List<LoraModule> layers = new ArrayList<>(s.layers());
        LoraModule m = layers.get(2);
        layers.set(2, new LoraModule(m.module(), m.modulePath(), m.layer(), m.baseKey(), m.baseTransposed(),
                m.outOffset(), m.rank(), m.alpha(), m.scaling(), m.a(), Matrix.zeros(m.out(), m.rank()), m.dora()));
        SimilaritySettings settings = new SimilaritySettings(0, 0, List.of(Side.LEFT), List.of(Factor.B),
                Set.of(NullModel.W0, NullModel.GAUSSIAN), 12, 5, Set.of());
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        ModuleConversion conv = ConversionAnalysis.convert(solver, layers, s.w0s());
        SimilarityAnalysis analysis = new SimilarityAnalysis(backend, settings);
        Heatmap b;
        double[][][] drawn;
        double[][][] plants;
        try (NullBasisStore store = NullBasisStore.inMemory(Set.of(Side.LEFT), 2);
             NullBasisStore planted = NullBasisStore.inMemory(Set.of(Side.LEFT), 2)) {
            analysis.sampleW0Null(solver, conv.systems(), conv.equationA(), analysis.w0NullFactors(layers), 4, store);
            analysis.samplePlanted(solver, conv.systems(), conv.equationA(), layers, planted);
            drawn = analysis.w0NullSamples(layers, store).get(Factor.B).get(Side.LEFT);
            plants = analysis.plantedSamples(layers, conv.equationA(), planted).get(Factor.A).get(Side.LEFT);
            b = analysis.analyze(conv, store, planted, null).get(0);
        }
        assertEquals(List.of(2), b.layersLeftOut());
        assertTrue(Double.isNaN(b.phi()[2][0]) && Double.isNaN(b.phi()[0][2]));
        for (int d = 0; d < drawn.length; d++) {
            assertEquals(withoutLayer2(drawn[d]), b.w0().averages()[d], 1e-15,
                    "draw " + d + ": the pairs without layer 2");
            assertNotEquals(SubspaceSimilarity.averageOffDiagonal(drawn[d]), b.w0().averages()[d], 1e-12);
        }
        // the plants' averages, which give the map's power, leave the same layer out
        for (int e = 0; e < PlantedControl.NOISE.length; e++) {
            for (int k = 0; k < PlantedControl.REPETITIONS; k++) {
                double[][] plant = plants[PlantedControl.draw(e, k)];
                assertEquals(withoutLayer2(plant), b.power().averages()[e][k], 1e-15, "plant " + e + ", " + k);
                assertNotEquals(SubspaceSimilarity.averageOffDiagonal(plant), b.power().averages()[e][k], 1e-12);
            }
        }
        assertTrue(Double.isNaN(b.gaussian().mean()[2][0]) && !Double.isNaN(b.gaussian().mean()[1][0]));
        String sentence = io.github.convsim.report.Verdicts.interpretation(b);
        assertTrue(sentence.startsWith("m C_B (left, i=2, j=2): average " + String.format(java.util.Locale.ROOT,
                "%.4f", b.average()) + " without layer 2 (its C_B is zero; left out of the nulls too)"), sentence);
    }

    /** The mean of phi over the pairs of the 5 layers a < b that leave out layer 2. */
    private static double withoutLayer2(double[][] phi) {
        double sum = 0;
        int n = 0;
        for (int x = 0; x < 5; x++) {
            for (int y = x + 1; y < 5; y++) {
                if (x != 2 && y != 2) {
                    sum += phi[x][y];
                    n++;
                }
            }
        }
        return sum / n;
    }

    @Test
    void theW0NullDrawnInChunksEqualsAllDrawsAtOnce() {
        Setup s = setup(41, 3, 20, 2);
        int draws = io.github.convsim.pipeline.LayerGroups.W0_NULL_DRAWS_PER_CHUNK + 3; // two chunks, the second partial
        SimilaritySettings settings = new SimilaritySettings(0, 0, List.of(Side.LEFT, Side.RIGHT),
                List.of(Factor.A, Factor.B, Factor.DW), Set.of(NullModel.W0), draws, 5, Set.of());
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        ModuleConversion conv = ConversionAnalysis.convert(solver, s.layers, s.w0s);
        var all = W0Null.sample(backend, solver, conv.systems(), s.layers, conv.equationA(), settings.factors(), draws,
                5);
        try (NullBasisStore chunked = NullBasisStore.inMemory(Set.of(Side.LEFT, Side.RIGHT), 2)) {
            new SimilarityAnalysis(backend, settings).sampleW0Null(solver, conv.systems(), conv.equationA(),
                    settings.factors(), io.github.convsim.pipeline.LayerGroups.W0_NULL_DRAWS_PER_CHUNK, chunked);
            for (Factor f : settings.factors()) {
                assertEquals(draws, chunked.draws(f));
                for (int d = 0; d < draws; d++) {
                    for (int l = 0; l < 3; l++) {
                        FactorBases.Pair x = all.get(f).get(d).get(l);
                        FactorBases.Pair y = chunked.get(f, d).get(l);
                        assertArrayEquals(x.left().vectors().data(), y.left().vectors().data(), 1e-12);
                        assertArrayEquals(x.right().singularValues(), y.right().singularValues(), 1e-12);
                    }
                }
            }
        }
    }

    @Test
    void theW0NullsCdwMapsAreItsCbMapsOnTheLeftAtFullRank() {
        Setup s = setup(43, 4, 24, 3);
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        ModuleConversion conv = ConversionAnalysis.convert(solver, s.layers, s.w0s);
        int draws = 6;
        SimilaritySettings left = new SimilaritySettings(0, 0, List.of(Side.LEFT),
                List.of(Factor.A, Factor.B, Factor.DW), Set.of(NullModel.W0), draws, 5, Set.of());
        SimilarityAnalysis analysis = new SimilarityAnalysis(backend, left);
        assertEquals(List.of(Factor.A, Factor.B), analysis.w0NullFactors(s.layers));
        try (NullBasisStore store = NullBasisStore.inMemory(Set.of(Side.LEFT), 3)) {
            analysis.sampleW0Null(solver, conv.systems(), conv.equationA(), analysis.w0NullFactors(s.layers), draws,
                    store);
            assertEquals(draws, store.draws(Factor.B));
            assertEquals(0, store.draws(Factor.DW), "C_dW's null is not drawn");
            var samples = analysis.w0NullSamples(s.layers, store);
            assertSame(samples.get(Factor.B), samples.get(Factor.DW));
            // drawn on its own from the same seeds, C_dW's null gives C_B's phi up to rounding
            var apart = W0Null.sample(backend, solver, conv.systems(), s.layers, conv.equationA(),
                    List.of(Factor.B, Factor.DW), draws, 5);
            for (int d = 0; d < draws; d++) {
                List<SubspaceBasis> dw = apart.get(Factor.DW).get(d).stream().map(FactorBases.Pair::left).toList();
                double[][] own = SubspaceSimilarity.phi(backend, dw.stream().map(SubspaceBasis::vectors).toList(),
                        dw.stream().mapToInt(SubspaceBasis::rank).toArray(), 3, 3);
                double[][] fromB = samples.get(Factor.DW).get(Side.LEFT)[d];
                for (int a = 0; a < 4; a++) {
                    for (int b = 0; b < 4; b++) {
                        if (a != b) {
                            assertEquals(own[a][b], fromB[a][b], 1e-12 * own[a][b], "draw " + d);
                            assertTrue(own[a][b] > 0.01 && own[a][b] < 0.99, "a real similarity, not 0 or 1");
                        }
                    }
                }
            }
        }
        // where C_dW's bases differ from C_B's in what phi reads, its null is drawn on its own
        SimilaritySettings leading = new SimilaritySettings(2, 2, List.of(Side.LEFT),
                List.of(Factor.A, Factor.B, Factor.DW), Set.of(NullModel.W0), draws, 5, Set.of());
        assertEquals(List.of(Factor.A, Factor.B, Factor.DW), new SimilarityAnalysis(backend, leading).w0NullFactors(s.layers));
        assertEquals(List.of(Factor.A, Factor.B, Factor.DW), new SimilarityAnalysis(backend, settings(3)).w0NullFactors(s.layers));
    }

    @Test
    void reparametrisingTheFactorsLeavesPhiAtFullRankUnchanged() {
        // B A = (B G^-1)(G A): C_dW is unchanged, and C_A, C_B keep their column spans, so phi at i = j = r is too
        Setup s = setup(31, 4, 24, 3);
        Random rng = new Random(32);
        List<LoraModule> moved = new ArrayList<>();
        for (LoraModule m : s.layers) {
            DMatrixRMaj g = new DMatrixRMaj(3, 3, true, TestData.gaussian(rng, 9));
            DMatrixRMaj gi = new DMatrixRMaj(3, 3);
            assertTrue(CommonOps_DDRM.invert(g, gi));
            Matrix ga = mult(g, m.a());
            Matrix bgi = multRight(m.b(), gi);
            moved.add(new LoraModule(m.module(), m.modulePath(), m.layer(), m.baseKey(), false, 0, 3, 3, 1,
                    ga.scale(2.5), bgi, false));
        }
        List<Heatmap> before = run(s, settings(1));
        List<Heatmap> after = run(new Setup(moved, s.w0s), settings(1));
        for (String subject : List.of("C_A", "C_B", "C_dW")) {
            double[][] p = find(before, subject, Side.LEFT).phi();
            double[][] q = find(after, subject, Side.LEFT).phi();
            for (int a = 0; a < 4; a++) {
                assertArrayEquals(p[a], q[a], 1e-10, subject);
            }
        }
        // right singular vectors of C_dW live in input space and are invariant too
        assertArrayEquals(find(before, "C_dW", Side.RIGHT).phi()[1], find(after, "C_dW", Side.RIGHT).phi()[1], 1e-10);
    }

    @Test
    void identicalLayersGiveOneEverywhere() {
        Setup s = setup(33, 1, 20, 2);
        List<LoraModule> copies = new ArrayList<>();
        List<Matrix> ws = new ArrayList<>();
        for (int l = 0; l < 3; l++) {
            LoraModule m = s.layers.get(0);
            copies.add(new LoraModule("m", "x." + l + ".m", l, "k", false, 0, 2, 2, 1, m.a(), m.b(), false));
            ws.add(s.w0s.get(0));
        }
        List<Heatmap> maps = run(new Setup(copies, ws), settings(2));
        for (Heatmap h : maps) {
            assertEquals(1.0, h.average(), 1e-12, h.subject() + " " + h.side());
        }
    }

    @Test
    void gaussianNullAgreesWithItsAnalyticValueAndSeedsReproduce() {
        Setup s = setup(34, 6, 40, 4);
        List<Heatmap> maps = run(s, settings(7));
        Heatmap h = find(maps, "C_A", Side.LEFT);
        NullDistribution g = h.gaussian();
        assertEquals(16, g.draws());
        assertTrue(g.averageLo() <= h.analytic() && h.analytic() <= g.averageHi(),
                g.averageLo() + " <= " + h.analytic() + " <= " + g.averageHi());
        assertEquals(0.1, h.analytic(), 0.0);
        // random factors through random W0: the observed map is itself a draw of the W0 null
        assertTrue(h.w0().pValue(h.average()) > 0.01);
        List<Heatmap> again = run(s, settings(7));
        Heatmap h2 = find(again, "C_A", Side.LEFT);
        assertArrayEquals(g.averages(), h2.gaussian().averages(), 0.0);
        assertArrayEquals(h.w0().averages(), h2.w0().averages(), 0.0);
        Heatmap other = find(run(s, settings(8)), "C_A", Side.LEFT);
        assertNotEquals(h.w0().averages()[0], other.w0().averages()[0]);
        assertEquals(h.average(), other.average(), 0.0);
    }

    @Test
    void iOrJAboveTheRankIsRefused() {
        Setup s = setup(35, 2, 10, 2);
        SimilaritySettings tooBig = new SimilaritySettings(3, 2, List.of(Side.LEFT), List.of(Factor.A),
                Set.of(NullModel.ANALYTIC), 2, 1, Set.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(s, tooBig));
        assertTrue(e.getMessage().contains("exceed the rank r=2"), e.getMessage());
    }

    @Test
    void untrainedAdapterGivesUndefinedSimilarityNotZero() {
        Setup s = setup(36, 3, 12, 2);
        List<LoraModule> untrained = new ArrayList<>();
        for (LoraModule m : s.layers) {
            untrained.add(new LoraModule("m", m.modulePath(), m.layer(), "k", false, 0, 2, 2, 1, m.a(),
                    Matrix.zeros(12, 2), false));
        }
        List<Heatmap> maps = run(new Setup(untrained, s.w0s), settings(3));
        assertTrue(Double.isNaN(find(maps, "C_B", Side.LEFT).average()));
        assertTrue(Double.isNaN(find(maps, "C_dW", Side.LEFT).phi()[0][1]));
        assertFalse(Double.isNaN(find(maps, "C_A", Side.LEFT).average()));
    }

    static Matrix mult(DMatrixRMaj g, Matrix a) {
        Matrix out = Matrix.zeros(g.numRows, a.cols());
        for (int i = 0; i < g.numRows; i++) {
            for (int j = 0; j < a.cols(); j++) {
                double s = 0;
                for (int k = 0; k < g.numCols; k++) {
                    s += g.get(i, k) * a.get(k, j);
                }
                out.set(i, j, s);
            }
        }
        return out;
    }

    static Matrix multRight(Matrix b, DMatrixRMaj g) {
        Matrix out = Matrix.zeros(b.rows(), g.numCols);
        for (int i = 0; i < b.rows(); i++) {
            for (int j = 0; j < g.numCols; j++) {
                double s = 0;
                for (int k = 0; k < b.cols(); k++) {
                    s += b.get(i, k) * g.get(k, j);
                }
                out.set(i, j, s);
            }
        }
        return out;
    }

    /**
     * r above W0's smaller side is refused whatever i and j: with i, j within the dimension the analytic null of C_A
     * alone went through, but the default analysis (C_dW's QR of A^T, the nulls' and plants' r columns) failed deep
     * inside with "orthonormalBasis: problem 0 is 64x100" or "basis of layer index 0 has 16 vectors, fewer than 100".
     */
    @Test
    void aRankAboveTheDimensionIsRefusedNotClamped() {
        Setup s = setup(37, 3, 4, 6); // r = 6 factors of 4 x 4 weights
        for (SimilaritySettings o : List.of(
                new SimilaritySettings(0, 0, List.of(Side.LEFT), List.of(Factor.A), Set.of(NullModel.ANALYTIC), 2, 1,
                        Set.of()),
                new SimilaritySettings(2, 3, List.of(Side.LEFT), List.of(Factor.A), Set.of(NullModel.ANALYTIC), 2, 1,
                        Set.of()),
                SimilaritySettings.builder().prefixes(2, 2).draws(4).build())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(s, o));
            assertEquals("module m layer 0 has rank r = 6 above the smaller side of its 4x4 W0: A and B then have at"
                    + " most 4 independent directions, and convsim compares conversion matrices of r <= min(out, in)"
                    + " only (--modules leaves the module out)", e.getMessage());
        }
    }
}
