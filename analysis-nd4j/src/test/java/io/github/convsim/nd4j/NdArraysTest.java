package io.github.convsim.nd4j;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.linalg.Matrix;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class NdArraysTest {
    @Test
    void roundTripKeepsLayoutAndValues() {
        Matrix m = new Matrix(2, 3, new double[] {1, 2, 3, 4, 5, 6}); // columns (1,2), (3,4), (5,6)
        INDArray a = NdArrays.toINDArray(m);
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertEquals(3.0, a.getDouble(0, 1));
        assertEquals(2.0, a.getDouble(1, 0));
        Matrix back = NdArrays.fromINDArray(a.transpose());
        assertEquals(3, back.rows());
        assertEquals(4.0, back.get(1, 1));
        assertEquals(5.0, back.get(2, 0));
        INDArray map = NdArrays.toINDArray(new double[][] {{1, 0.5}, {0.25, 1}});
        assertEquals(0.25, map.getDouble(1, 0));
        assertThrows(IllegalArgumentException.class, () -> NdArrays.fromINDArray(a.reshape(6)));
    }
}
