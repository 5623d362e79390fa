package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.conversion.Factor;
import io.github.convsim.linalg.Matrix;
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
