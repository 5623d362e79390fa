package io.github.convsim.nd4j;

import io.github.convsim.linalg.Matrix;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Conversions between convsim's column-major {@link Matrix} and ND4J's {@link INDArray}, the array type library users
 * work with. This optional module is the only part of convsim that depends on ND4J: add it to a project that uses
 * INDArrays; the analysis itself never needs it.
 */
public final class NdArrays {
    private NdArrays() {}

    /** A double-precision INDArray [rows, cols] holding a copy of the matrix. */
    public static INDArray toINDArray(Matrix m) {
        return Nd4j.create(m.data().clone(), new long[] {m.rows(), m.cols()}, 'f').dup('c');
    }

    /** A matrix holding a copy of a rank-2 INDArray, converted to double. */
    public static Matrix fromINDArray(INDArray a) {
        if (a.rank() != 2) {
            throw new IllegalArgumentException("expected a matrix, got an array of rank " + a.rank());
        }
        INDArray f = a.castTo(DataType.DOUBLE).dup('f');
        return new Matrix((int) a.rows(), (int) a.columns(), f.data().asDouble());
    }

    /** A layers x layers similarity map as an INDArray. */
    public static INDArray toINDArray(double[][] map) {
        return Nd4j.create(map);
    }
}
