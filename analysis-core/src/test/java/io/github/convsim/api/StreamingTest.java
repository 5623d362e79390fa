package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ComparisonMap;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.similarity.Heatmap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The streamed pipeline (one layer in memory at a time, the W0 null's bases spilled to disk) gives the same numbers as
 * the whole module at once: the demo with the W0 control on, so every per-group path is exercised.
 */
class StreamingTest {
    static LoraCheckpoint ckpt;
    static Backends.Choice cpu;
    static AnalysisResult whole;
    static AnalysisResult streamed;

    @BeforeAll
    static void analyse() throws Exception {
        ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
        cpu = Backends.select("cpu");
        var s = AnalysisOptions.defaults().similarity();
        AnalysisOptions options = AnalysisOptions.defaults().withSimilarity(new io.github.convsim.similarity
                .SimilaritySettings(0, 0, s.sides(), s.factors(), s.nulls(), 8, s.seed(), Set.of("A", "W0")));
        whole = Analysis.run(ckpt, options, cpu, ProgressListener.NONE, 64L << 30);
        // 1 byte of "memory": one layer per group, and the W0 null spills
        streamed = Analysis.run(ckpt, options, cpu, ProgressListener.NONE, 1);
    }

    @AfterAll
    static void close() {
        ckpt.close();
        cpu.backend().close();
    }

    @Test
    void groupsAndSpillingAreAsPlanned() {
        Map<String, Object> w = modules(whole);
        Map<String, Object> s = modules(streamed);
        for (String m : new String[] {"query", "value"}) {
            assertEquals(12, ((Map<?, ?>) w.get(m)).get("layers_per_group"));
            assertEquals(false, ((Map<?, ?>) w.get(m)).get("w0_null_bases_spilled_to_disk"));
            assertEquals(1, ((Map<?, ?>) s.get(m)).get("layers_per_group"));
            assertEquals(true, ((Map<?, ?>) s.get(m)).get("w0_null_bases_spilled_to_disk"));
            // 8 draws x 12 layers x 2 factors drawn (A and B: C_dW's null maps are C_B's at i = j = r on the left)
            // x one side of 768 x 8 doubles
            assertEquals(8L * 12 * 2 * 768 * 8 * 8, ((Map<?, ?>) s.get(m)).get("w0_null_bases_bytes"));
        }
    }

    @Test
    void streamedNumbersEqualWholeModuleNumbers() {
        assertEquals(whole.modules().size(), streamed.modules().size());
        for (int m = 0; m < whole.modules().size(); m++) {
            var a = whole.modules().get(m);
            var b = streamed.modules().get(m);
            assertEquals(a.diagnostics().size(), b.diagnostics().size());
            for (int l = 0; l < a.diagnostics().size(); l++) {
                assertEquals(a.diagnostics().get(l).condW0(), b.diagnostics().get(l).condW0(),
                        1e-9 * a.diagnostics().get(l).condW0());
                assertEquals(a.diagnostics().get(l).residualA(), b.diagnostics().get(l).residualA(), 1e-15);
            }
            assertEquals(a.heatmaps().size(), b.heatmaps().size());
            assertTrue(a.heatmaps().stream().anyMatch(h -> h.subject().equals("W0")), "W0 control present");
            for (int h = 0; h < a.heatmaps().size(); h++) {
                Heatmap x = a.heatmaps().get(h);
                Heatmap y = b.heatmaps().get(h);
                assertEquals(x.subject(), y.subject());
                assertCells(x.phi(), y.phi());
                assertEquals(x.gaussian() == null, y.gaussian() == null);
                assertEquals(x.w0() == null, y.w0() == null);
                if (x.gaussian() != null) {
                    assertCells(x.gaussian().mean(), y.gaussian().mean());
                }
                if (x.w0() != null) {
                    assertCells(x.w0().mean(), y.w0().mean());
                    assertCells(x.w0().lo(), y.w0().lo());
                    assertCells(x.w0().hi(), y.w0().hi());
                }
                // the planted controls are seeded per layer: the same power curve whatever the grouping
                assertEquals(x.power() == null, y.power() == null, x.subject());
                if (x.power() != null) {
                    for (int e = 0; e < x.power().averages().length; e++) {
                        assertArrayEquals(x.power().averages()[e], y.power().averages()[e], 1e-12);
                    }
                }
            }
        }
    }

    @Test
    void comparisonStreamedOneLayerAtATimeEqualsTheWholeModule(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path noisy = noisyCopy(dir, 7);
        var s = AnalysisOptions.defaults().similarity();
        AnalysisOptions options = AnalysisOptions.defaults().withSimilarity(new io.github.convsim.similarity
                .SimilaritySettings(0, 0, s.sides(), s.factors(), s.nulls(), 6, s.seed(), s.controls()));
        var adapters = java.util.List.of(TestData.bertAdapter(), noisy);
        var check = io.github.convsim.model.BaseMatch.BaseCheck.STRICT;
        ComparisonResult all = Comparison.run(adapters, TestData.bertBase(), check, options, cpu,
                ProgressListener.NONE, 64L << 30);
        ComparisonResult one = Comparison.run(adapters, TestData.bertBase(), check, options, cpu,
                ProgressListener.NONE, 1);
        assertEquals(all.maps().size(), one.maps().size());
        assertEquals(2 * 5, all.maps().size(), "A, B, dW and the raw A^T and B, for query and value");
        for (int k = 0; k < all.maps().size(); k++) {
            ComparisonMap x = all.maps().get(k);
            ComparisonMap y = one.maps().get(k);
            assertEquals(x.subject(), y.subject());
            for (int l = 0; l < x.layers().length; l++) {
                assertCells(x.perLayer()[l], y.perLayer()[l]);
            }
            assertEquals(x.w0Null() == null, y.w0Null() == null);
            if (x.w0Null() != null) {
                assertEquals(3, x.w0Null().draws(), "6 draws make 3 pairs");
                assertCells(x.w0Null().mean(), y.w0Null().mean());
                assertArrayEquals(x.w0Null().averages(), y.w0Null().averages(), 1e-12);
                // the planted pairs of power are seeded per layer: the same plants whatever the grouping
                for (int e = 0; e < x.power().averages().length; e++) {
                    assertArrayEquals(x.power().averages()[e], y.power().averages()[e], 1e-12);
                }
                // the pair null is far above phi's analytic value: W0 makes unrelated adapters similar
                assertTrue(x.w0NullMean() > 5 * x.analytic(), x.w0NullMean() + " vs " + x.analytic());
            }
            // the noisy copy keeps half of each factor: phi between the two is well above the pair null
            if (x.subject().equals("C_B") && x.w0Null() != null) {
                assertTrue(x.mean()[0][1] > x.w0NullMean(), x.mean()[0][1] + " vs " + x.w0NullMean());
            }
        }
    }

    /** The demo adapter with every lora_A and lora_B mixed half and half with Gaussian noise of the same scale. */
    static java.nio.file.Path noisyCopy(java.nio.file.Path dir, long seed) throws Exception {
        java.nio.file.Path out = java.nio.file.Files.createDirectories(dir.resolve("noisy-" + seed));
        java.nio.file.Files.copy(TestData.bertAdapter().resolve("adapter_config.json"),
                out.resolve("adapter_config.json"));
        java.util.Random rng = new java.util.Random(seed);
        var w = new io.github.convsim.io.SafetensorsWriter();
        try (var f = io.github.convsim.io.SafetensorsFile.open(
                TestData.bertAdapter().resolve("adapter_model.safetensors"))) {
            for (String t : f.names()) {
                double[] v = f.readDoubles(t);
                double scale = Math.sqrt(java.util.Arrays.stream(v).map(x -> x * x).average().orElse(1));
                for (int k = 0; k < v.length; k++) {
                    v[k] = 0.5 * v[k] + 0.5 * scale * rng.nextGaussian();
                }
                w.add(t, io.github.convsim.io.Dtype.F32, f.info(t).shape(), v);
            }
        }
        w.write(out.resolve("adapter_model.safetensors"));
        return out;
    }

    private static void assertCells(double[][] a, double[][] b) {
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a.length; j++) {
                assertEquals(a[i][j], b[i][j], 1e-12, "cell " + i + "," + j);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> modules(AnalysisResult r) {
        return (Map<String, Object>) r.provenance().resources().get("modules");
    }
}
