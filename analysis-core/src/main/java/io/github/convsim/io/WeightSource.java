package io.github.convsim.io;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A named collection of tensors on disk: one safetensors file, a sharded model, or a PyTorch state dict. Tensors
 * are read one at a time, on demand, so a source never holds more than the caller asks for.
 */
public interface WeightSource extends AutoCloseable {

    /** What was opened: a file or a directory. */
    Path location();

    /** Every file this source reads, for provenance hashing. */
    List<Path> files();

    /** Tensor names, in the order the checkpoint lists them. */
    Set<String> names();

    /** @throws CheckpointException if there is no such tensor */
    TensorInfo info(String name) throws CheckpointException;

    default boolean contains(String name) {
        return names().contains(name);
    }

    /**
     * All elements of a tensor, row-major, converted exactly to double.
     *
     * @throws CheckpointException if the tensor is missing, unreadable, or has more than 2^31-1 elements
     */
    double[] readDoubles(String name) throws CheckpointException;

    /**
     * A 2-D tensor [rows, cols] as the data of a column-major rows x cols matrix (element (i, j) at i + j * rows),
     * converted exactly: the layout convsim computes in. By default its row-major elements, transposed; a reader may
     * decode straight into place instead.
     *
     * @throws CheckpointException as {@link #readDoubles}, or if the tensor is not 2-D
     */
    default double[] readColumnMajor(String name) throws CheckpointException {
        TensorInfo t = info(name);
        if (t.rank() != 2) {
            throw new CheckpointException(location(), "tensor '" + name + "' is not 2-D: " + t);
        }
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        double[] rowMajor = readDoubles(name);
        double[] out = new double[rowMajor.length];
        transposeRows(rowMajor, 0, rows, cols, out, 0, rows);
        return out;
    }

    /**
     * Rows [0, count) of a row-major block with {@code cols} columns, starting at {@code src[from]}, into rows
     * [firstRow, firstRow + count) of a column-major matrix with {@code rows} rows.
     */
    static void transposeRows(double[] src, int from, int count, int cols, double[] dst, int firstRow, int rows) {
        int block = 64;
        for (int jb = 0; jb < cols; jb += block) {
            int jm = Math.min(cols, jb + block);
            for (int ib = 0; ib < count; ib += block) {
                int im = Math.min(count, ib + block);
                for (int j = jb; j < jm; j++) {
                    int to = firstRow + j * rows;
                    for (int i = ib; i < im; i++) {
                        dst[to + i] = src[from + i * cols + j];
                    }
                }
            }
        }
    }

    @Override
    void close();
}
