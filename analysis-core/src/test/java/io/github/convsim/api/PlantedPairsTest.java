package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.CpuBackendTest;
import io.github.convsim.TestData;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.Factor;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.ComparisonMap;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.similarity.PlantedPairs;
import io.github.convsim.similarity.PowerCurve;
import io.github.convsim.similarity.SimilaritySettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * compare's power: planted pairs of adapters whose factors agree up to relative noise, solved once for every level.
 * Written out as two adapters, a planted pair must compare exactly as the power curve says it does.
 */
class PlantedPairsTest extends CpuBackendTest {
    @TempDir
    Path dir;

    /** Adapter {@code which} (0: the first, 1: the second) of planted pair k at noise eps, on the demo's modules. */
    private Path write(List<LoraModule> modules, long seed, int k, double eps, int which) throws Exception {
        return write(modules, seed, k, eps, which, new PlantedPairs.Ranks(8, 8));
    }

    /**
     * The same for a pair of the given ranks (the demo's 8 at most): adapter 0 of rank {@code ranks.first()}, 1 of
     * {@code ranks.second()}, each with the demo's lora_B cut to its rank.
     */
    private Path write(List<LoraModule> modules, long seed, int k, double eps, int which, PlantedPairs.Ranks ranks)
            throws Exception {
        Path out = Files.createDirectories(dir.resolve("pair" + k + "-" + eps + "-" + which + "-" + ranks.first()
                + "-" + ranks.second()));
        int r = which == 0 ? ranks.first() : ranks.second();
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(TestData.bertAdapter()
                .resolve("adapter_config.json").toFile());
        json.writeValue(out.resolve("adapter_config.json").toFile(), config.put("r", r));
        SafetensorsWriter w = new SafetensorsWriter();
        for (LoraModule m : modules) {
            Matrix a = PlantedPairs.plantedFactor(seed, Factor.A, m, k, eps, m.rank(), ranks)[which];
            Matrix b = m.b().columnSlice(0, r); // the demo's: the plants are of C_A
            String p = "base_model.model.bert.encoder.layer." + m.layer() + ".attention.self." + m.module();
            w.add(p + ".lora_A.weight", Dtype.F64, new long[] {a.rows(), a.cols()}, a.transpose().data());
            w.add(p + ".lora_B.weight", Dtype.F64, new long[] {b.rows(), b.cols()}, b.transpose().data());
        }
        w.write(out.resolve("adapter_model.safetensors"));
        return out;
    }

    /** The demo adapter's modules, every layer of query and value. */
    private static List<LoraModule> demoModules() throws Exception {
        try (LoraCheckpoint demo = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
            return new ArrayList<>(demo.modules());
        }
    }

    /**
     * Two adapters ({@code name}-0 and -1, with {@code source}'s config) whose modules' {lora_A [r, in], lora_B
     * [out, r]} {@code factors} gives for each module and adapter (0 or 1).
     */
    private List<Path> writePair(String name, Path source, List<LoraModule> modules,
                                 java.util.function.BiFunction<LoraModule, Integer, Matrix[]> factors)
            throws Exception {
        List<Path> pair = new ArrayList<>();
        for (int which = 0; which < 2; which++) {
            Path out = Files.createDirectories(dir.resolve(name + "-" + which));
            Files.copy(source.resolve("adapter_config.json"), out.resolve("adapter_config.json"));
            SafetensorsWriter w = new SafetensorsWriter();
            for (LoraModule m : modules) {
                Matrix[] ab = factors.apply(m, which);
                String p = "base_model.model." + m.modulePath();
                w.add(p + ".lora_A.weight", Dtype.F64, new long[] {ab[0].rows(), ab[0].cols()},
                        ab[0].transpose().data());
                w.add(p + ".lora_B.weight", Dtype.F64, new long[] {ab[1].rows(), ab[1].cols()},
                        ab[1].transpose().data());
            }
            w.write(out.resolve("adapter_model.safetensors"));
            pair.add(out);
        }
        return pair;
    }

    /**
     * At i = j = r phi comes from Gram matrices of the conversion matrices, below r from their singular vectors, on the
     * left and (below r, where the right side is not degenerate) on the right.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "i = j = {0} (0: the rank)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 4})
    void aPlantedPairComparesExactlyAsItsPowerCurveSays(int prefix) throws Exception {
        List<LoraModule> modules = demoModules();
        SimilaritySettings.Builder similarity = SimilaritySettings.builder().draws(4);
        if (prefix > 0) {
            similarity.prefixes(prefix, prefix).sides(io.github.convsim.similarity.Side.LEFT,
                    io.github.convsim.similarity.Side.RIGHT);
        }
        AnalysisOptions options = AnalysisOptions.builder().similarity(similarity.build()).build();
        long seed = options.similarity().seed();
        Backends.Choice cpu = Backends.checked(backend, "test");
        for (int[] at : new int[][] {{2, 5}, {6, 9}}) {
            int k = at[0];
            int e = at[1];
            double eps = PlantedPairs.NOISE[e];
            List<Path> pair = List.of(write(modules, seed, k, eps, 0), write(modules, seed, k, eps, 1));
            ComparisonResult r = Comparison.run(pair, TestData.bertBase(), BaseMatch.BaseCheck.STRICT, options, cpu,
                    ProgressListener.NONE);
            int checked = 0;
            for (ComparisonMap m : r.maps()) {
                if (m.isControl()) {
                    assertNull(m.power(), m.subject());
                    continue;
                }
                // through a square W0 the plants of C_A speak for C_B and C_dW (left) too; on the right C_dW, whose
                // right singular vectors are A's row space, has pairs of shared rows of A (a test below)
                boolean right = m.side() == io.github.convsim.similarity.Side.RIGHT;
                PowerCurve curve = m.power();
                if (right && m.subject().equals("C_dW")) {
                    assertEquals(java.util.Set.of("C_dW"), curve.appliesTo());
                    continue;
                }
                // below r C_dW has pairs of its own (the next test)
                assertEquals(right ? java.util.Set.of("C_A", "C_B") : m.subject().equals("C_dW")
                        ? (prefix > 0 ? java.util.Set.of("C_dW") : java.util.Set.of("C_A", "C_B", "C_dW"))
                        : prefix > 0 ? java.util.Set.of("C_A", "C_B") : java.util.Set.of("C_A", "C_B", "C_dW"),
                        curve.appliesTo());
                if (m.subject().equals("C_A")) {
                    assertEquals(m.mean()[0][1], curve.averages()[e][k], 1e-10, m.module() + " C_A at noise " + eps
                            + ", plant " + k);
                    checked++;
                }
            }
            assertEquals(prefix > 0 ? 4 : 2, checked, "C_A of query and value, on each side");
        }
    }

    /**
     * Below r C_dW = C_B A depends on A too, and its pairs are planted on their own: each adapter's C_B from the pair
     * of C_B's distribution (through a square W0, C_A's: lora_B = the planted A^T), times its own Gaussian A. Written
     * out as two adapters, their C_dW compares exactly as C_dW's curve says, and that curve is not C_B's.
     */
    @Test
    void belowItsRankACDwPairComparesExactlyAsItsOwnCurveSays() throws Exception {
        List<LoraModule> modules = demoModules();
        AnalysisOptions options = AnalysisOptions.builder().similarity(SimilaritySettings.builder().draws(4)
                .prefixes(2, 2).build()).build();
        long seed = options.similarity().seed();
        int k = 5;
        int e = 3;
        PlantedPairs.Ranks ranks = new PlantedPairs.Ranks(8, 8);
        List<Path> pair = writePair("dw-pair", TestData.bertAdapter(), modules, (m, which) -> new Matrix[] {
            PlantedPairs.plantedA(seed, Factor.A, m, k, 8, ranks)[which],
            PlantedPairs.plantedFactor(seed, Factor.A, m, k, PlantedPairs.NOISE[e], 8, ranks)[which].transpose()});
        ComparisonResult r = comparesAsCDwsCurveSays(pair, options, e, k);
        for (ComparisonMap m : r.maps()) {
            if (m.subject().equals("C_dW")) {
                ComparisonMap b = r.maps().stream().filter(x -> x.module().equals(m.module())
                        && x.subject().equals("C_B")).findFirst().orElseThrow();
                assertNotEquals(b.power().averages()[e][k], m.power().averages()[e][k], 1e-3, "C_B's pair");
            }
        }
    }

    /**
     * Compares {@code pair} and checks that each module's C_dW has a curve of its own whose plant k at noise level e
     * is the pair's phi (1e-10), in query and value.
     */
    private ComparisonResult comparesAsCDwsCurveSays(List<Path> pair, AnalysisOptions options, int e, int k)
            throws Exception {
        ComparisonResult r = Comparison.run(pair, TestData.bertBase(), BaseMatch.BaseCheck.STRICT, options,
                Backends.checked(backend, "test"), ProgressListener.NONE);
        int checked = 0;
        for (ComparisonMap m : r.maps()) {
            if (m.subject().equals("C_dW")) {
                assertEquals(java.util.Set.of("C_dW"), m.power().appliesTo());
                assertEquals(m.mean()[0][1], m.power().averages()[e][k], 1e-10, m.module() + " C_dW " + m.side()
                        + " at noise " + PlantedPairs.NOISE[e] + ", plant " + k);
                checked++;
            }
        }
        assertEquals(2, checked, "C_dW of query and value");
        return r;
    }

    /**
     * On the right C_dW = C_B A has A's row space, and its pairs share A's rows: the first adapter's A^T = G, the
     * second's G + noise, each adapter's B Gaussian. Written out as two adapters they compare on the right exactly as
     * C_dW's curve says, at i = j = r (where C_A's map on the right is degenerate) and below.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "i = j = {0} (0: the rank)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 3})
    void onTheRightACDwPairOfSharedRowsComparesExactlyAsItsCurveSays(int prefix) throws Exception {
        List<LoraModule> modules = demoModules();
        SimilaritySettings.Builder similarity = SimilaritySettings.builder().draws(4).sides(
                io.github.convsim.similarity.Side.RIGHT);
        if (prefix > 0) {
            similarity.prefixes(prefix, prefix);
        }
        AnalysisOptions options = AnalysisOptions.builder().similarity(similarity.build()).build();
        long seed = options.similarity().seed();
        int k = 6;
        int e = 7;
        PlantedPairs.Ranks ranks = new PlantedPairs.Ranks(8, 8);
        List<Path> pair = writePair("rows-pair-" + prefix, TestData.bertAdapter(), modules, (m, which) ->
                PlantedPairs.plantedRows(seed, m, k, PlantedPairs.NOISE[e], 8, ranks)[which]);
        comparesAsCDwsCurveSays(pair, options, e, k);
    }

    /**
     * A pair of two ranks: the rank-4 adapter's A^T is the first 4 columns of the shared draw, the rank-8 one's its
     * noisy copy; compared at i = j = 4 (from singular vectors) they give the curve's phi.
     */
    @Test
    void aPlantedPairOfTwoRanksComparesExactlyAsItsPowerCurveSays() throws Exception {
        List<LoraModule> modules = demoModules();
        AnalysisOptions options = AnalysisOptions.builder().similarity(SimilaritySettings.builder().draws(4).build())
                .build();
        long seed = options.similarity().seed();
        Backends.Choice cpu = Backends.checked(backend, "test");
        PlantedPairs.Ranks ranks = new PlantedPairs.Ranks(4, 8);
        int k = 3;
        int e = 4;
        double eps = PlantedPairs.NOISE[e];
        List<Path> pair = List.of(write(modules, seed, k, eps, 0, ranks), write(modules, seed, k, eps, 1, ranks));
        ComparisonResult r = Comparison.run(pair, TestData.bertBase(), BaseMatch.BaseCheck.STRICT, options, cpu,
                ProgressListener.NONE);
        int checked = 0;
        for (ComparisonMap m : r.maps()) {
            if (m.subject().equals("C_A")) {
                assertEquals(4, m.i());
                assertEquals(m.mean()[0][1], m.power().averages()[e][k], 1e-10, m.module() + " C_A at noise " + eps);
                checked++;
            }
        }
        assertEquals(2, checked, "C_A of query and value");
    }

    /**
     * Through a non-square W0 (tiny-llama's grouped-query k_proj, 16 x 64) C_B's equation is not C_A's, and B is
     * planted on its own: two adapters whose lora_B are a planted B pair compare exactly as B's curve says, and that
     * curve speaks for C_B and C_dW, A's for C_A alone.
     */
    @Test
    void throughANonSquareW0BPairsArePlantedOnTheirOwn() throws Exception {
        var written = io.github.convsim.synth.SyntheticCheckpoint.write(io.github.convsim.synth.ModelShape.TINY,
                new io.github.convsim.synth.SyntheticCheckpoint.Options(5, 4, 8, List.of("k_proj"), 1L << 30, 1),
                Files.createDirectories(dir.resolve("tiny")), ProgressListener.NONE);
        List<LoraModule> modules;
        try (LoraCheckpoint c = LoraCheckpoint.open(written.adapter(), written.base())) {
            modules = new ArrayList<>(c.layersOf("k_proj"));
        }
        assertNotEquals(modules.get(0).out(), modules.get(0).in());
        AnalysisOptions options = AnalysisOptions.builder().similarity(SimilaritySettings.builder().draws(4).build())
                .build();
        long seed = options.similarity().seed();
        int k = 2;
        int e = 5;
        List<Path> pair = writePair("tiny-b-pair", written.adapter(), modules, (m, which) -> new Matrix[] {m.a(),
            PlantedPairs.plantedFactor(seed, Factor.B, m, k, PlantedPairs.NOISE[e], m.rank(),
                    new PlantedPairs.Ranks(m.rank(), m.rank()))[which]});
        ComparisonResult r = Comparison.run(pair, written.base(), BaseMatch.BaseCheck.STRICT, options,
                Backends.checked(backend, "test"), ProgressListener.NONE);
        for (ComparisonMap m : r.maps()) {
            switch (m.subject()) {
                case "C_A" -> assertEquals(java.util.Set.of("C_A"), m.power().appliesTo());
                case "C_B" -> {
                    assertEquals(java.util.Set.of("C_B", "C_dW"), m.power().appliesTo());
                    assertEquals(m.mean()[0][1], m.power().averages()[e][k], 1e-10, "C_B at noise "
                            + PlantedPairs.NOISE[e] + ", plant " + k);
                }
                default -> { }
            }
        }
    }

    @Test
    void plantsGoFromSharingEverythingToTheW0NullsPair() throws Exception {
        AnalysisOptions options = AnalysisOptions.builder().similarity(SimilaritySettings.builder().draws(32)
                .sides(io.github.convsim.similarity.Side.LEFT, io.github.convsim.similarity.Side.RIGHT).build()).build();
        Backends.Choice cpu = Backends.checked(backend, "test");
        ComparisonResult r = Comparison.run(List.of(TestData.bertAdapter(), StreamingTest.noisyCopy(dir, 3)),
                TestData.bertBase(), BaseMatch.BaseCheck.STRICT, options, cpu, ProgressListener.NONE);
        for (ComparisonMap m : r.maps()) {
            boolean right = m.side() == io.github.convsim.similarity.Side.RIGHT;
            boolean rows = right && m.subject().equals("C_dW"); // A's row space, in R^in: pairs of shared rows of A
            if (m.isControl() || (right && !rows)) {
                assertNull(m.power(), "the right side at i = j = r is degenerate in R^r, and has no plants: "
                        + m.subject() + " " + m.side());
                continue;
            }
            double[][] a = m.power().averages();
            int last = a.length - 1;
            for (int k = 0; k < a[0].length; k++) {
                assertTrue(a[0][k] > 0.99, m.subject() + ": nearly the same factors share nearly everything");
                assertTrue(a[last][k] < a[0][k], m.subject());
            }
            // at noise 5 the second adapter is mostly its own Gaussian noise: an unrelated pair, the W0 null's
            double far = java.util.Arrays.stream(a[last]).average().orElseThrow();
            assertEquals(m.w0Null().averageMean(), far, 0.05, m.module() + " " + m.subject());
            // and the test detects the near-identical plants, not the far ones
            PowerCurve.Detectable d = m.power().detectable(m.w0Null(), 0.05 / 4);
            // (rows of A in R^768 stay apart from the null's random rows even at noise 5)
            assertTrue(d.noise() >= 0.5 && (rows || d.noise() < 5), m.module() + " " + m.subject() + ": " + d);
        }
    }
}
