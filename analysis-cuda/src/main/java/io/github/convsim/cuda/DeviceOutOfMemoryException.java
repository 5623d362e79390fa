package io.github.convsim.cuda;

/**
 * An allocation the device (or the budget of {@code --gpu-memory}) cannot satisfy. Batched operations catch it and
 * retry with half the batch; it reaches the user only when a single problem does not fit.
 */
public final class DeviceOutOfMemoryException extends CudaException {
    private static final long serialVersionUID = 1L;
    private final long bytes;

    public DeviceOutOfMemoryException(long bytes) {
        super("the GPU could not allocate " + bytes + " bytes");
        this.bytes = bytes;
    }

    /** The allocation that failed, in bytes. */
    public long bytes() {
        return bytes;
    }
}
