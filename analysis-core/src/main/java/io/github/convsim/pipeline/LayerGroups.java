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
    /**
     * Draws of the W0 null pushed through the solver at once, at the least: bounds the random factors and bases in
     * flight. The group size is counted with chunks of this size.
     */
    public static final int W0_NULL_DRAWS_PER_CHUNK = 8;
    /**
     * The most draws per chunk ({@link #w0NullDrawsPerChunk}): getrs on 768 x 768 factors ran at 36 to 44 GFLOP/s
     * with 128 right-hand sides (8 draws of rank 8, A and B) and at 54 to 62 with 512, on 2 cores.
     */
    static final int MAX_W0_NULL_DRAWS_PER_CHUNK = 32;
    /** W0-sized double arrays alive per layer in flight. */
    static final int ARRAYS_PER_LAYER = 4;
    /** Copies of one chunk of W0-null factors (draws x r x (out + in)) alive per layer while the chunk is solved. */
    static final int NULL_COPIES = 8;

    private LayerGroups() {}

    public static int size(LoraModule first, long maxHeapBytes) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, fit(first, maxHeapBytes, W0_NULL_DRAWS_PER_CHUNK)));
    }

    /**
     * Draws of the W0 null per chunk for a module of {@code layers} layers like {@code first}: the most, up to
     * {@link #MAX_W0_NULL_DRAWS_PER_CHUNK}, with which its layer groups ({@link #size}) still fit in the memory (the
     * demo's layers take 32; 4096 x 4096 layers under -Xmx2g, two at a time, 16). The draws, and so the numbers, do not
     * depend on it.
     */
    public static int w0NullDrawsPerChunk(LoraModule first, long maxHeapBytes, int layers) {
        int group = Math.min(layers, size(first, maxHeapBytes));
        for (int chunk = MAX_W0_NULL_DRAWS_PER_CHUNK; chunk > W0_NULL_DRAWS_PER_CHUNK; chunk /= 2) {
            if (fit(first, maxHeapBytes, chunk) >= group) {
                return chunk;
            }
        }
        return W0_NULL_DRAWS_PER_CHUNK;
    }

    /** How many layers fit in two thirds of the heap with chunks of {@code drawsPerChunk} draws; 0 when none does. */
    private static long fit(LoraModule first, long maxHeapBytes, int drawsPerChunk) {
        long nullChunk = (long) NULL_COPIES * Double.BYTES * drawsPerChunk * first.rank()
                * (first.out() + first.in());
        long perLayer = ARRAYS_PER_LAYER * (long) Double.BYTES * first.out() * first.in() + nullChunk;
        return (maxHeapBytes / 3 * 2) / Math.max(1, perLayer);
    }
}
