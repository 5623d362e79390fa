package io.github.convsim.api;

import io.github.convsim.model.LoraModule;

/**
 * How many layers of a module are read and factored together. Each layer in flight holds W0 and its factors on the
 * heap: W0 (read row-major, then transposed: two copies for a moment), the fp64 LU or thin SVD, and the fp32 LU of
 * the precision check, about five W0-sized double arrays. A group takes at most half the heap, so a 4096 x 4096
 * module (640 MiB per layer) goes one layer at a time under -Xmx2g, where OpenBLAS then threads each factorisation,
 * while the demo's 768 x 768 layers all go at once.
 */
public final class LayerGroups {
    /** W0-sized double arrays alive per layer in flight. */
    static final int ARRAYS_PER_LAYER = 4;

    private LayerGroups() {}

    public static int size(LoraModule first, long maxHeapBytes) {
        long perLayer = ARRAYS_PER_LAYER * (long) Double.BYTES * first.out() * first.in();
        long fit = (maxHeapBytes / 3 * 2) / Math.max(1, perLayer);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, fit));
    }
}
