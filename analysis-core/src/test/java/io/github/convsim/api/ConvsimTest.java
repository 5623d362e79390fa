package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.condlora.CondLoraSettings;
import io.github.convsim.condlora.ModuleFit;
import io.github.convsim.conversion.Factor;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilaritySettings;
import java.awt.image.BufferedImage;
import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The facade's spectra and prefix grid on the bundled demo, against independent values. */
class ConvsimTest {
    static Convsim cs;

    @BeforeAll
    static void open() throws Exception {
        cs = Convsim.open(TestData.bertAdapter(), TestData.bertBase(), "cpu");
    }

    @AfterAll
    static void close() {
        cs.close();
    }

    /** The facade with a cache: the second analysis reads every W0 result and gives the first's numbers. */
    @Test
    void analysingTwiceWithACacheReadsItTheSecondTime(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        AnalysisOptions options = AnalysisCacheTest.options();
        io.github.convsim.cache.BaseCache first = io.github.convsim.cache.BaseCache.open(dir, 1L << 30);
        String expected = AnalysisCacheTest.fingerprint(cs.analyze(options, first));
        io.github.convsim.cache.BaseCache second = io.github.convsim.cache.BaseCache.open(dir, 1L << 30);
        assertEquals(expected, AnalysisCacheTest.fingerprint(cs.analyze(options, second)));
        assertEquals(0L, second.summary().get("misses"));
        assertEquals(first.summary().get("written"), second.summary().get("hits"));
        assertEquals(expected, AnalysisCacheTest.fingerprint(cs.analyze(options)));
    }

    @Test
    void thePhiGridAtRankIsThePaperAverage() throws Exception {
        double[][] grid = cs.phiGrid("value", Factor.A);
        assertEquals(8, grid.length);
        // phi(r, r) averaged over pairs: the independent NumPy value of bench/authors_baseline.py
        assertEquals(0.018606342714, grid[7][7], 1e-6);
        // every entry is a normalised overlap of subspaces, in [0, 1]
        for (double[] row : grid) {
            for (double v : row) {
                assertTrue(v >= 0 && v <= 1, "phi " + v);
            }
        }
    }

    /**
     * On the right, C_dW = (W0^-1 B) A spans A's rows whatever W0 is: at i = j = r its map is the A^T control's left
     * map, cell by cell, and its sentence says so (with --side both, a 'yes' there is about A, not about W0).
     */
    @Test
    void cdwOnTheRightIsTheATransposeControlAndItsSentenceSaysSo() throws Exception {
        AnalysisOptions options = AnalysisOptions.builder().modules("value")
                .similarity(SimilaritySettings.builder().sides(Side.LEFT, Side.RIGHT).draws(3).build()).build();
        AnalysisResult result = cs.analyze(options);
        Heatmap dw = result.module("value").heatmap("C_dW", Side.RIGHT).orElseThrow();
        Heatmap a = result.module("value").heatmap("A^T", Side.LEFT).orElseThrow();
        assertEquals(8, dw.i());
        int cells = 0;
        for (int x = 0; x < dw.phi().length; x++) {
            for (int y = 0; y < dw.phi().length; y++) {
                if (x != y) {
                    assertEquals(a.phi()[x][y], dw.phi()[x][y], 1e-9, x + "," + y);
                    cells++;
                }
            }
        }
        assertEquals(12 * 11, cells);
        List<String> sentences = Convsim.interpretation(result);
        String right = sentences.stream().filter(t -> t.startsWith("value C_dW (right")).findFirst().orElseThrow();
        assertTrue(right.contains("has A's row space whatever W0 is"), right);
        String left = sentences.stream().filter(t -> t.startsWith("value C_dW (left")).findFirst().orElseThrow();
        assertFalse(left.contains("row space"), left);
    }

    /** The README's library example, on the demo: typed options, figures by enum, CondLoRA and compare. */
    @Test
    void theReadmeExampleRunsAndAsksForWhatItNames() throws Exception {
        AnalysisOptions options = AnalysisOptions.builder().modules("value")
                .similarity(SimilaritySettings.builder().prefixes(4, 8).sides(Side.LEFT, Side.RIGHT).draws(4).build())
                .build();
        AnalysisResult result = cs.analyze(options);
        assertEquals(List.of("value"), result.modules().stream().map(m -> m.module()).toList());
        Heatmap right = result.module("value").heatmap("C_A", Side.RIGHT).orElseThrow();
        assertEquals(4, right.i());
        assertEquals(8, right.j());
        assertEquals(4, right.w0().draws());
        List<String> sentences = Convsim.interpretation(result);
        assertFalse(sentences.isEmpty());
        assertTrue(sentences.get(0).startsWith("value C_A (left, i=4, j=8)"), sentences.get(0));
        BufferedImage img = Convsim.nullFigure(result, "value", Factor.A, NullModel.W0);
        assertTrue(img.getWidth() > 100 && img.getHeight() > 100);
        assertThrows(IllegalArgumentException.class, () -> Convsim.nullFigure(result, "value", Factor.A,
                NullModel.ANALYTIC));
        assertThrows(IllegalArgumentException.class, () -> Convsim.figure(result, "query", Factor.A));
        List<ModuleFit> fits = cs.fitCondLora(CondLoraSettings.defaults().withDraws(2));
        assertEquals(List.of("query", "value"), fits.stream().map(ModuleFit::module).toList());
        ComparisonResult same = Convsim.compare(List.of(TestData.bertAdapter(), TestData.bertAdapter()),
                TestData.bertBase(), AnalysisOptions.builder().modules("value")
                        .similarity(SimilaritySettings.builder().draws(4).build()).build());
        // an adapter against itself: phi = 1 at every layer
        assertEquals(1.0, same.maps().get(0).mean()[0][1], 1e-9);
        // two draws make one pair: no spread, no p; compare refuses rather than answer without a test
        IllegalArgumentException onePair = assertThrows(IllegalArgumentException.class, () -> Convsim.compare(
                List.of(TestData.bertAdapter(), TestData.bertAdapter()), TestData.bertBase(), AnalysisOptions.builder()
                        .modules("value").similarity(SimilaritySettings.builder().draws(3).build()).build()));
        assertTrue(onePair.getMessage().contains("at least 4 draws"), onePair.getMessage());
    }

    @Test
    void spectraEqualEjmlsSingularValues() throws Exception {
        Matrix w0 = cs.checkpoint().baseWeight(cs.checkpoint().layersOf("query").get(3));
        Matrix b = cs.checkpoint().layersOf("query").get(3).b();
        DMatrixRMaj w = new DMatrixRMaj(w0.rows(), w0.cols());
        DMatrixRMaj bb = new DMatrixRMaj(b.rows(), b.cols());
        for (int i = 0; i < w0.rows(); i++) {
            for (int j = 0; j < w0.cols(); j++) {
                w.set(i, j, w0.get(i, j));
            }
            for (int j = 0; j < b.cols(); j++) {
                bb.set(i, j, b.get(i, j));
            }
        }
        double[] sW0 = SingularOps_DDRM.singularValues(w);
        java.util.Arrays.sort(sW0);
        double[] got = cs.w0Spectrum("query", 3);
        assertEquals(768, got.length);
        for (int k = 0; k < got.length; k++) {
            assertEquals(sW0[sW0.length - 1 - k], got[k], 1e-10 * sW0[sW0.length - 1]);
        }
        // C_B = W0^-1 B, its singular values by EJML
        DMatrixRMaj cB = new DMatrixRMaj(768, b.cols());
        assertTrue(CommonOps_DDRM.solve(w, bb, cB));
        double[] sC = SingularOps_DDRM.singularValues(cB);
        java.util.Arrays.sort(sC);
        double[] gotC = cs.conversionSpectrum("query", 3, Factor.B);
        assertEquals(b.cols(), gotC.length);
        for (int k = 0; k < gotC.length; k++) {
            assertEquals(sC[sC.length - 1 - k], gotC[k], 1e-8 * sC[sC.length - 1]);
        }
    }
}
