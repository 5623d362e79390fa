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

    /** A view into a larger array (offset and strides of its parent), in float: its own values, widened. */
    @Test
    void aViewIsCopiedWithItsOwnValues() {
        INDArray big = org.nd4j.linalg.factory.Nd4j.arange(20).reshape('c', 4, 5)
                .castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
        INDArray view = big.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 3),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(2, 5)); // rows 1-2, columns 2-4
        Matrix m = NdArrays.fromINDArray(view);
        assertEquals(2, m.rows());
        assertEquals(3, m.cols());
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(5.0 * (i + 1) + j + 2, m.get(i, j), "(" + i + ", " + j + ")");
            }
        }
    }
}
