package io.github.convsim.cuda;

import java.util.Locale;

/**
 * How a batch of problems goes to the device: as many at a time as the budget holds, and half as many after an
 * allocation fails, down to one problem, which then either fits or is reported. Pure arithmetic and control, so it
 * is tested without a GPU.
 */
public final class BatchPlanner {
    /** Fraction of free memory the default budget leaves to cuBLAS/cuSOLVER internals and fragmentation. */
    static final double RESERVE = 0.10;

    /** One chunk of the batch, problems {@code from} to {@code from + count - 1}; it frees what it allocated on failure. */
    @FunctionalInterface
    public interface Chunk {
        void run(int from, int count);
    }

    private BatchPlanner() {}

    /**
     * Runs {@code count} problems in chunks of as many as {@code limitBytes} holds at {@code bytesPerProblem} each (at
     * least one); a chunk that meets {@link DeviceOutOfMemoryException} (memory held by others, or more workspace than
     * planned) is run again as two halves, and so on down to single problems. Returns the chunk size it ended with.
     *
     * @throws CudaException when a single problem does not fit, naming {@code --gpu-memory}
     */
    public static int inChunks(int count, long bytesPerProblem, long limitBytes, Chunk chunk) {
        int size = (int) Math.max(1, Math.min(count, limitBytes / Math.max(1, bytesPerProblem)));
        int from = 0;
        while (from < count) {
            int n = Math.min(size, count - from);
            try {
                chunk.run(from, n);
                from += n;
            } catch (DeviceOutOfMemoryException e) {
                if (n == 1) {
                    throw new CudaException("one problem needs " + size(bytesPerProblem) + " of GPU memory but the"
                            + " budget is " + size(limitBytes) + " (--gpu-memory; by default 90 % of what is free):"
                            + " give it more, or use --backend cpu", e);
                }
                size = (n + 1) / 2;
            }
        }
        return size;
    }

    /** Device bytes of an LU solve of an n x n system with nrhs right-hand sides. */
    public static long luSolveBytes(long n, long nrhs, int elementBytes) {
        return (n * n + n * nrhs) * elementBytes + n * Long.BYTES + Integer.BYTES;
    }

    /** Bytes as GiB, or MiB below one GiB. */
    static String size(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
