package io.github.convsim.common;

/** Told how far a long computation has got; the CLI draws progress bars from it, the library stays silent. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = (phase, done, total) -> { };

    /** {@code done} of {@code total} steps of {@code phase} are finished. */
    void progress(String phase, long done, long total);
}
