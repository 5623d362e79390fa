package io.github.convsim.cuda;

import java.util.Locale;

/**
 * How many problems of a batch fit on the device at once: the free memory (less a reserve for the libraries'
 * workspaces) divided by what one problem needs. Pure arithmetic, so it is tested without a GPU.
 */
public final class BatchPlanner {
    /** Fraction of free memory left alone for cuBLAS/cuSOLVER internals and fragmentation. */
    static final double RESERVE = 0.10;

    private BatchPlanner() {}

    /**
     * Problems per chunk.
     *
     * @throws CudaException when even one problem does not fit
     */
    public static int problemsPerChunk(long freeBytes, long bytesPerProblem, long sharedBytes, int count) {
        if (count <= 0) {
            return 0;
        }
        long usable = (long) (freeBytes * (1 - RESERVE)) - sharedBytes;
        if (bytesPerProblem <= 0) {
            throw new IllegalArgumentException("a problem needs a positive number of bytes, got " + bytesPerProblem);
        }
        long fits = usable / bytesPerProblem;
        if (fits < 1) {
            throw new CudaException(String.format(Locale.ROOT, "one problem needs %.2f GiB of GPU memory (plus %.2f"
                    + " GiB of workspace) but only %.2f GiB are free", gib(bytesPerProblem), gib(sharedBytes),
                    gib(freeBytes)));
        }
        return (int) Math.min(count, fits);
    }

    /** Device bytes of an LU solve of an n x n system with nrhs right-hand sides. */
    public static long luSolveBytes(long n, long nrhs, int elementBytes) {
        return (n * n + n * nrhs) * elementBytes + n * Long.BYTES + Integer.BYTES;
    }

    private static double gib(long bytes) {
        return bytes / (double) (1L << 30);
    }
}
