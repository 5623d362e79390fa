package io.github.convsim;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.OpenBlasBackend;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of tests that compute on the OpenBLAS backend and compare with EJML. */
public abstract class CpuBackendTest {
    protected static OpenBlasBackend backend;

    @BeforeAll
    static void openBackend() {
        backend = new OpenBlasBackend(2);
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    /** The same matrix as EJML's row-major type, for independent reference computations. */
    public static DMatrixRMaj ejml(Matrix m) {
        DMatrixRMaj d = new DMatrixRMaj(m.rows(), m.cols());
        for (int i = 0; i < m.rows(); i++) {
            for (int j = 0; j < m.cols(); j++) {
                d.set(i, j, m.get(i, j));
            }
        }
        return d;
    }
}
