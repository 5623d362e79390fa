package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
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
            // 8 draws x 12 layers x 3 factors x one side of 768 x 8 doubles
            assertEquals(8L * 12 * 3 * 768 * 8 * 8, ((Map<?, ?>) s.get(m)).get("w0_null_bases_bytes"));
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
            }
        }
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
