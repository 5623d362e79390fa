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

    @Override
    void close();
}
