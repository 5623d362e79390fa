package io.github.convsim.io;

import java.nio.file.Path;

/**
 * The memory a JSON header, index or config takes to parse, checked against the heap before parsing: a valid but
 * large header under a small heap gets a clear error naming the file, its size and the heap it needs, never an
 * OutOfMemoryError. Budget: {@value #BYTES_PER_JSON_BYTE} bytes of heap per byte of JSON, within half of the maximum
 * heap. Measured: a 25 MB safetensors header of 200,000 tensors keeps 181 MB (its string and Jackson's tree, 7.1 bytes
 * per byte) beside its 25 MB of UTF-8, and decoding needs more for a moment.
 */
final class HeapBudget {
    static final int BYTES_PER_JSON_BYTE = 16;

    private HeapBudget() {}

    static void requireFor(Path file, long jsonBytes, String what) throws CheckpointException {
        long need = jsonBytes * BYTES_PER_JSON_BYTE;
        long budget = Runtime.getRuntime().maxMemory() / 2;
        if (need > budget) {
            throw new CheckpointException(file, String.format(java.util.Locale.ROOT, "its %s of %.1f MB needs about"
                    + " %.0f MB of Java heap to parse, more than half of the %.0f MB this run has; give it more (e.g."
                    + " CONVSIM_JAVA_OPTS=-Xmx%dm)", what, jsonBytes / 1e6, need / 1e6,
                    Runtime.getRuntime().maxMemory() / 1e6, (long) Math.ceil(2.5 * need / (1 << 20))));
        }
    }
}
