package io.github.convsim.io;

import java.nio.file.Path;

/**
 * A safetensors file that breaks the format's rules. {@link #violation()} says which rule, the message names the
 * file, the tensor (where one is concerned) and the offending values.
 */
public final class SafetensorsException extends CheckpointException {
    private static final long serialVersionUID = 1L;

    /** Each way a safetensors file can be wrong. */
    public enum Violation {
        FILE_TOO_SHORT,
        HEADER_TOO_LARGE,
        HEADER_BEYOND_FILE,
        HEADER_NOT_UTF8,
        HEADER_NOT_JSON_OBJECT,
        INVALID_METADATA,
        INVALID_TENSOR_ENTRY,
        UNKNOWN_DTYPE,
        DUPLICATE_NAME,
        SHAPE_SPAN_MISMATCH,
        OFFSETS_REVERSED,
        OFFSETS_OUT_OF_RANGE,
        OFFSETS_OVERLAP,
        OFFSETS_HOLE,
        TRAILING_BYTES,
        NO_SUCH_TENSOR
    }

    private final Violation violation;
    private final String tensor;

    public SafetensorsException(Path file, String tensor, Violation violation, String reason) {
        super(file, (tensor == null ? "" : "tensor '" + tensor + "': ") + reason);
        this.violation = violation;
        this.tensor = tensor;
    }

    public Violation violation() {
        return violation;
    }

    /** The tensor concerned, or null when the problem is with the file as a whole. */
    public String tensor() {
        return tensor;
    }
}
