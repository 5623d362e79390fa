package io.github.convsim.linalg;

/**
 * A {@link LinalgBackend} found at run time through {@link java.util.ServiceLoader} (the CUDA backend, built only on
 * Java 22+, registers one).
 */
public interface BackendProvider {
    /** Name used by {@code --backend}, e.g. "cuda". */
    String name();

    /**
     * Creates the backend, or throws with a one-line reason why it cannot run here (no GPU, libraries missing...).
     */
    LinalgBackend create() throws Exception;

    /**
     * As {@link #create()}, holding at most {@code deviceMemoryBytes} of the device's memory at once (0: the backend's
     * default); a backend without device memory of its own ignores it.
     */
    default LinalgBackend create(long deviceMemoryBytes) throws Exception {
        return create();
    }
}
