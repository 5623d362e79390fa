package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.TensorInfo;
import io.github.convsim.io.WeightSource;
import io.github.convsim.linalg.Matrix;
import java.nio.file.Path;

/** What every tensor read as a weight must be: floating point, a matrix where one is expected, finite. */
final class WeightChecks {
    private WeightChecks() {}

    /** W0 and the LoRA factors are weights: integer or boolean tensors (a relabelled dtype) are refused. */
    static void requireWeights(Path file, String key, TensorInfo info) throws CheckpointException {
        if (!info.dtype().isFloatingPoint()) {
            throw new CheckpointException(file, "tensor '" + key + "' is " + info.dtype() + ", which cannot hold"
                    + " weights (W0 and the LoRA factors must be F64, F32, F16, BF16 or F8)");
        }
    }

    static Matrix readMatrix(WeightSource source, String key) throws CheckpointException {
        TensorInfo i = source.info(key);
        requireWeights(source.location(), key, i);
        return Matrix.fromRowMajor((int) i.dim(0), (int) i.dim(1), source.readDoubles(key));
    }

    static void requireFinite(Path file, String key, Matrix m) throws CheckpointException {
        int[] bad = m.firstNonFinite();
        if (bad != null) {
            throw new CheckpointException(file, "tensor '" + key + "' holds a non-finite value " + m.get(bad[0], bad[1])
                    + " at [" + bad[0] + ", " + bad[1] + "]");
        }
    }
}
