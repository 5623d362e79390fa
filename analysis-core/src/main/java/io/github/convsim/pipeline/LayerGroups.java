package io.github.convsim.pipeline;

import io.github.convsim.model.LoraModule;

/**
 * How many layers of a module are read and factored together. Each layer in flight holds W0 and its factors on the
 * heap: W0 (decoded into place from safetensors; read row-major and then transposed, two copies for a moment, from a
 * PyTorch file), the fp64 LU or thin SVD and the fp32 LU of the precision check, about four W0-sized double arrays; and
 * one chunk of W0-null draws, whose random factors, solutions, columns and bases take about eight copies of draws x r x
 * (out + in) doubles. A group takes at most two thirds of the heap: 4096 x 4096 layers go two at a time under -Xmx2g,
 * the demo's 768 x 768 layers all at once.
 */
public final class LayerGroups {
    /** Draws of the W0 null pushed through the solver at once: bounds the random factors and bases in flight. */
    public static final int W0_NULL_DRAWS_PER_CHUNK = 8;
    /** W0-sized double arrays alive per layer in flight. */
    static final int ARRAYS_PER_LAYER = 4;
    /** Copies of one chunk of W0-null factors (draws x r x (out + in)) alive per layer while the chunk is solved. */
    static final int NULL_COPIES = 8;

    private LayerGroups() {}

    public static int size(LoraModule first, long maxHeapBytes) {
        long nullChunk = (long) NULL_COPIES * Double.BYTES * W0_NULL_DRAWS_PER_CHUNK * first.rank()
                * (first.out() + first.in());
        long perLayer = ARRAYS_PER_LAYER * (long) Double.BYTES * first.out() * first.in() + nullChunk;
        long fit = (maxHeapBytes / 3 * 2) / Math.max(1, perLayer);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, fit));
    }
}
