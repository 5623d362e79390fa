package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.ConversionAnalysis;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.ModuleConversion;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.report.Verdicts;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullBasisStore;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.PlantedControl;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilarityAnalysis;
import io.github.convsim.similarity.SimilaritySettings;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A module whose layers have different ranks (PEFT's rank_pattern): the demo adapter with query layers 6 to 11 cut to
 * rank 4 (the first 4 rows of lora_A, columns of lora_B). Its heatmaps are read at the smallest rank, streamed as whole.
 */
class MixedRankTest {
    @TempDir
    static Path dir;
    static Path mixed;
    static Backends.Choice cpu;
    static AnalysisOptions options;
    static AnalysisResult whole;
    static AnalysisResult streamed;

    @BeforeAll
    static void analyse() throws Exception {
        mixed = rankPatternCopy(dir);
        cpu = Backends.select("cpu");
        var s = AnalysisOptions.defaults().similarity();
        options = AnalysisOptions.defaults().withModules(List.of("query")).withSimilarity(new SimilaritySettings(0, 0,
                List.of(Side.LEFT), s.factors(), s.nulls(), 8, s.seed(), Set.of("A", "W0")));
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(mixed, TestData.bertBase())) {
            whole = Analysis.run(ckpt, options, cpu, ProgressListener.NONE, 64L << 30);
            streamed = Analysis.run(ckpt, options, cpu, ProgressListener.NONE, 1);
        }
    }

    @AfterAll
    static void close() {
        cpu.backend().close();
    }

    @Test
    void heatmapsAreReadAtTheSmallestRank() throws Exception {
        ModuleResult query = whole.modules().get(0);
        Heatmap a = query.heatmap("C_A", Side.LEFT).orElseThrow();
        assertEquals(4, a.i());
        assertEquals(4, a.j());
        assertArrayEquals(new int[] {8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4}, a.ranks());
        assertTrue(a.mixedRanks());
        assertEquals("4 to 8", a.rankRange());
        for (double[] row : a.phi()) {
            for (double v : row) {
                assertTrue(v >= 0 && v <= 1 + 1e-12, "every cell defined: " + v);
            }
        }
        // the library's phi grid, from bases of its own, agrees, and stops at the smallest rank
        try (Convsim c = Convsim.open(mixed, TestData.bertBase(), "cpu")) {
            double[][] grid = c.phiGrid("query", Factor.A);
            assertEquals(4, grid.length);
            assertEquals(a.average(), grid[3][3], 1e-12);
        }
        // layers 0 to 5 are the demo's own: their cells are the demo's phi(4, 4)
        AnalysisOptions demoAt4 = options.withSimilarity(new SimilaritySettings(4, 4, List.of(Side.LEFT),
                List.of(Factor.A), Set.of(), 2, 1, Set.of()));
        AnalysisResult demo;
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
            demo = Analysis.run(ckpt, demoAt4, cpu, ProgressListener.NONE, 64L << 30);
        }
        double[][] own = demo.modules().get(0).heatmap("C_A", Side.LEFT).orElseThrow().phi();
        for (int x = 0; x < 6; x++) {
            for (int y = 0; y < 6; y++) {
                assertEquals(own[x][y], a.phi()[x][y], 1e-12, "cell " + x + "," + y);
            }
        }
        // and a rank-4 layer is not a rank-8 one: its cells differ from the demo's
        assertNotEquals(own[6][7], a.phi()[6][7], 1e-6);
    }

    @Test
    void theW0NullIsDrawnAtEachLayersRankAndPowerComesFromPlantsOfTheLargestRank() {
        ModuleResult query = whole.modules().get(0);
        for (Heatmap h : query.heatmaps()) {
            assertEquals(!h.isControl(), h.power() != null, h.subject() + ": plants speak for C_A, C_B and C_dW (left,"
                    + " square W0), not for the raw controls");
        }
        Heatmap b = query.heatmap("C_B", Side.LEFT).orElseThrow();
        Heatmap dw = query.heatmap("C_dW", Side.LEFT).orElseThrow();
        assertNotNull(b.w0());
        assertNotNull(dw.w0());
        // at i = j = 4 < r = 8, C_dW's leading vectors are not C_B's: its null is drawn, not borrowed from C_B
        assertNotEquals(b.w0().mean()[0][1], dw.w0().mean()[0][1], 1e-9);
        @SuppressWarnings("unchecked")
        var modules = (java.util.Map<String, java.util.Map<String, Object>>) whole.provenance().resources()
                .get("modules");
        // 8 draws x 12 layers x 3 factors drawn x 768 x 4 doubles
        assertEquals(8L * 12 * 3 * 768 * 4 * 8, modules.get("query").get("w0_null_bases_bytes"));
        MapVerdict a = Verdicts.of(whole, Correction.HOLM).get(0);
        String sentence = Verdicts.interpretation(a);
        assertTrue(sentence.startsWith("query C_A (left, i=4, j=4 of layers of ranks 4 to 8): average "), sentence);
        assertFalse(a.power().none(), "plants with little noise are found: " + sentence);
        assertTrue(a.power().plantMean() > a.map().w0().averageHi(), "the detected plants lie above the W0 null's"
                + " interval: " + sentence);
        assertTrue(sentence.contains("it detects a conversion matrix shared by all layers (one map of rank 8, each"
                + " layer taking as many of its columns as its rank) up to noise "), sentence);
    }

    /**
     * The plants of a module of two ranks share one map of the largest rank: its rank-8 layers are planted exactly as
     * the demo's (all rank 8) are, and its rank-4 layers take the map's first 4 columns, so that a rank-4 plant shares
     * its subspace with the other rank-4 plants and with the rank-8 ones.
     */
    @Test
    void plantsOfTheLargestRankAreTheOneRankModulesOwn() throws Exception {
        SimilaritySettings at4 = new SimilaritySettings(4, 4, List.of(Side.LEFT), List.of(Factor.A), Set.of(), 2, 1,
                Set.of());
        double[][][] mixedPlants = plants(mixed, at4);
        double[][][] demoPlants = plants(TestData.bertAdapter(), at4);
        int draws = PlantedControl.NOISE.length * PlantedControl.REPETITIONS;
        assertEquals(draws, mixedPlants.length);
        for (int d = 0; d < draws; d++) {
            for (int x = 0; x < 6; x++) {
                for (int y = 0; y < 6; y++) {
                    assertEquals(demoPlants[d][x][y], mixedPlants[d][x][y], 1e-12, "draw " + d + ", " + x + "," + y);
                }
            }
            assertNotEquals(demoPlants[d][6][7], mixedPlants[d][6][7], 1e-6, "rank-4 layers are planted at rank 4");
        }
        double within4 = 0;
        double across = 0;
        for (int k = 0; k < PlantedControl.REPETITIONS; k++) {
            double[][] least = mixedPlants[k]; // the least noise, 0.025: draws 0 to REPETITIONS - 1
            within4 += least[6][7] / PlantedControl.REPETITIONS;
            across += least[0][6] / PlantedControl.REPETITIONS;
        }
        // far above the W0 null (about 0.004 in these cells) for rank-4 pairs, and for a rank-4 layer against a
        // rank-8 one: the first 4 columns are the same M's, not another map drawn for rank 4
        NullDistribution w0 = whole.modules().get(0).heatmap("C_A", Side.LEFT).orElseThrow().w0();
        assertTrue(within4 > 10 * w0.mean()[6][7], "two rank-4 plants at noise 0.025: " + within4);
        assertTrue(across > 5 * w0.mean()[0][6], "a rank-8 plant against a rank-4 one at noise 0.025: " + across);
    }

    /** The planted controls' phi, [draw][layer][layer], of the query module of {@code adapter}. */
    private static double[][][] plants(Path adapter, SimilaritySettings settings) throws Exception {
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, TestData.bertBase())) {
            List<LoraModule> layers = ckpt.layersOf("query");
            List<Matrix> w0s = new java.util.ArrayList<>();
            for (LoraModule m : layers) {
                w0s.add(ckpt.baseWeight(m));
            }
            ConversionSolver solver = new ConversionSolver(cpu.backend(), SolveOptions.paper());
            ModuleConversion conv = ConversionAnalysis.convert(solver, layers, w0s);
            SimilarityAnalysis analysis = new SimilarityAnalysis(cpu.backend(), settings);
            try (NullBasisStore store = NullBasisStore.inMemory(Set.of(Side.LEFT), 4)) {
                analysis.samplePlanted(solver, conv.systems(), conv.equationA(), layers, store);
                return analysis.plantedSamples(layers, conv.equationA(), store).get(Factor.A).get(Side.LEFT);
            }
        }
    }

    /** What the power says is detectable is found: `convsim plant` at a quarter of that noise gets a 'yes'. */
    @Test
    void anAdapterPlantedBelowTheDetectableNoiseIsFound() throws Exception {
        MapVerdict a = Verdicts.of(whole, Correction.HOLM).get(0);
        double noise = a.power().noise() / 4;
        Path planted = dir.resolve("planted-noisy");
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(mixed, TestData.bertBase())) {
            io.github.convsim.synth.PlantedAdapter.write(ckpt, cpu.backend(), noise, 11, planted);
        }
        AnalysisResult r;
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(planted, TestData.bertBase())) {
            r = Analysis.run(ckpt, options, cpu, ProgressListener.NONE, 64L << 30);
        }
        MapVerdict found = Verdicts.of(r, Correction.HOLM).get(0);
        assertEquals("C_A", found.map().subject());
        assertEquals("yes", found.answer(), Verdicts.interpretation(found));
        assertTrue(found.map().average() > a.power().plantMean() - 0.05, "at a quarter of the noise its phi is about"
                + " the detected plants' or above: " + found.map().average() + " against " + a.power().plantMean());
    }

    @Test
    void streamedNumbersEqualWholeModuleNumbers() {
        List<Heatmap> w = whole.modules().get(0).heatmaps();
        List<Heatmap> s = streamed.modules().get(0).heatmaps();
        assertEquals(w.size(), s.size());
        for (int h = 0; h < w.size(); h++) {
            assertEquals(w.get(h).subject(), s.get(h).subject());
            for (int x = 0; x < 12; x++) {
                for (int y = 0; y < 12; y++) {
                    assertEquals(w.get(h).phi()[x][y], s.get(h).phi()[x][y], 1e-12);
                    if (w.get(h).w0() != null) {
                        assertEquals(w.get(h).w0().mean()[x][y], s.get(h).w0().mean()[x][y], 1e-12);
                    }
                }
            }
            assertEquals(w.get(h).power() == null, s.get(h).power() == null);
            if (w.get(h).power() != null) {
                assertTrue(java.util.Arrays.deepEquals(w.get(h).power().averages(), s.get(h).power().averages()),
                        "the plants of a streamed module are the whole module's: " + w.get(h).subject());
            }
        }
    }

    @Test
    void theRightSideAndPrefixesBeyondTheSmallestRankAreRefused() throws Exception {
        var s = options.similarity();
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(mixed, TestData.bertBase())) {
            AnalysisOptions right = options.withSimilarity(new SimilaritySettings(0, 0, List.of(Side.LEFT, Side.RIGHT),
                    s.factors(), s.nulls(), 2, s.seed(), Set.of()));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Analysis.run(ckpt, right, cpu, ProgressListener.NONE, 64L << 30));
            assertTrue(e.getMessage().contains("module query has layers of ranks 4 to 8"), e.getMessage());
            AnalysisOptions five = options.withSimilarity(new SimilaritySettings(5, 0, List.of(Side.LEFT),
                    s.factors(), s.nulls(), 2, s.seed(), Set.of()));
            e = assertThrows(IllegalArgumentException.class,
                    () -> Analysis.run(ckpt, five, cpu, ProgressListener.NONE, 64L << 30));
            assertTrue(e.getMessage().startsWith("i=5, j=4 exceed the smallest rank r=4 of module query (layer 6"),
                    e.getMessage());
        }
    }

    /**
     * `convsim plant` on such an adapter: one M of the largest rank, a layer of rank r taking its first r columns. It
     * wrote rank-8 factors into rank-4 tensors before (and failed on its own shapes).
     */
    @Test
    void aPlantedControlOfTwoRanksSharesTheColumnsOfOneMap() throws Exception {
        Path planted = dir.resolve("planted");
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(mixed, TestData.bertBase())) {
            io.github.convsim.synth.PlantedAdapter.write(ckpt, cpu.backend(), 0, 3, planted);
        }
        AnalysisOptions exact = options.withSimilarity(new SimilaritySettings(0, 0, List.of(Side.LEFT),
                List.of(Factor.A), Set.of(), 2, 1, Set.of()));
        AnalysisResult r;
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(planted, TestData.bertBase())) {
            assertEquals(List.of(8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4),
                    ckpt.layersOf("query").stream().map(io.github.convsim.model.LoraModule::rank).toList());
            r = Analysis.run(ckpt, exact, cpu, ProgressListener.NONE, 64L << 30);
        }
        double[][] phi = r.modules().get(0).heatmap("C_A", Side.LEFT).orElseThrow().phi();
        // without noise, C_A of a rank-8 layer spans M and of a rank-4 layer M's first 4 columns, up to rounding
        // through cond(W0) ~ 1e5
        assertEquals(1, phi[0][1], 1e-6, "two rank-8 layers");
        assertEquals(1, phi[6][7], 1e-6, "two rank-4 layers");
        assertTrue(phi[0][6] > 0.05 && phi[0][6] < 0.99, "the leading 4 directions of M against its first 4 columns: "
                + phi[0][6]);
    }

    /** The demo adapter with query layers 6 to 11 at rank 4, declared by rank_pattern as PEFT writes it. */
    static Path rankPatternCopy(Path dir) throws Exception {
        return TestData.cutCopy(dir.resolve("rank-pattern"), ".*\\.layer\\.([6-9]|1[01])\\.attention\\.self\\.query", 4, false);
    }
}
