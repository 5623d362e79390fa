package io.github.convsim.cuda;

/**
 * The device memory convsim may hold at once: {@code --gpu-memory} where given, else most of what was free when the
 * backend opened (all but {@link BatchPlanner#RESERVE} of it, left to the libraries and to fragmentation). Every
 * allocation is counted against it; one that would pass it fails as the device's own out-of-memory does, so that a
 * budget smaller than the card behaves like a smaller card. Pure arithmetic, tested without a GPU.
 */
public final class DeviceBudget {
    private final long limit;
    private long used;

    private DeviceBudget(long limit) {
        this.limit = limit;
    }

    /**
     * The budget for a device with {@code freeBytes} free: {@code requestedBytes} when positive (at most what is free),
     * else all but the reserve.
     *
     * @throws IllegalArgumentException when more is asked for than the device has free
     */
    public static DeviceBudget of(long requestedBytes, long freeBytes) {
        if (requestedBytes > freeBytes) {
            throw new IllegalArgumentException("--gpu-memory " + BatchPlanner.size(requestedBytes) + " is more than the "
                    + BatchPlanner.size(freeBytes) + " free on the GPU");
        }
        return new DeviceBudget(requestedBytes > 0 ? requestedBytes : (long) (freeBytes * (1 - BatchPlanner.RESERVE)));
    }

    public long limit() {
        return limit;
    }

    public synchronized long used() {
        return used;
    }

    /**
     * Counts {@code bytes} as held.
     *
     * @throws DeviceOutOfMemoryException when they would pass the limit
     */
    public synchronized void take(long bytes) {
        if (used + bytes > limit) {
            throw new DeviceOutOfMemoryException(bytes);
        }
        used += bytes;
    }

    public synchronized void give(long bytes) {
        used -= bytes;
    }
}
