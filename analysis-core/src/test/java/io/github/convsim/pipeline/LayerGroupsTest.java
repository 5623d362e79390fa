package io.github.convsim.pipeline;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;
import org.junit.jupiter.api.Test;

/** Layer groups and W0-null chunks sized to the heap, on the demo's and LLaMA-2-7B's shapes. */
class LayerGroupsTest {
    private static final long GIB = 1L << 30;

    /** A layer of shape out x in and rank r (only the shapes are read). */
    private static LoraModule layer(int out, int in, int r) {
        return new LoraModule("q", "x.0.q", 0, "x.0.q.weight", false, 0, r, r, 1, Matrix.zeros(r, in),
                Matrix.zeros(out, r), false);
    }

    /** Bytes a group of {@code layers} layers takes with chunks of {@code chunk} draws, as the class counts them. */
    private static long bytes(LoraModule m, int layers, int chunk) {
        return layers * (LayerGroups.ARRAYS_PER_LAYER * 8L * m.out() * m.in()
                + LayerGroups.NULL_COPIES * 8L * chunk * m.rank() * (m.out() + m.in()));
    }

    @Test
    void theDemoTakesAllLayersAtOnceAndTheLargestChunk() {
        LoraModule demo = layer(768, 768, 8);
        assertEquals(12, Math.min(12, LayerGroups.size(demo, 6 * GIB)));
        assertEquals(32, LayerGroups.w0NullDrawsPerChunk(demo, 6 * GIB, 12));
    }

    @Test
    void sevenBLayersUnderTwoGibKeepTwoLayersPerGroup() {
        LoraModule llama = layer(4096, 4096, 16);
        long heap = 2 * GIB;
        assertEquals(2, LayerGroups.size(llama, heap));
        int chunk = LayerGroups.w0NullDrawsPerChunk(llama, heap, 32);
        assertEquals(16, chunk, "32 draws per chunk would leave room for one layer only");
        assertTrue(bytes(llama, 2, chunk) <= heap / 3 * 2);
        assertTrue(bytes(llama, 2, 2 * chunk) > heap / 3 * 2);
    }

    @Test
    void aHeapThatHoldsOneLayerGetsNoLargerChunkThanFits() {
        LoraModule llama = layer(4096, 4096, 16);
        // one layer with 8 draws per chunk fits, with 16 it does not: the floor of one layer must not hide that
        long heap = (bytes(llama, 1, 8) + bytes(llama, 1, 16)) / 2 / 2 * 3;
        assertEquals(1, LayerGroups.size(llama, heap));
        assertEquals(8, LayerGroups.w0NullDrawsPerChunk(llama, heap, 32));
        // a heap too small for one layer still gets one, with the smallest chunk
        assertEquals(1, LayerGroups.size(llama, GIB / 4));
        assertEquals(8, LayerGroups.w0NullDrawsPerChunk(llama, GIB / 4, 32));
    }

    @Test
    void aModuleOfFewLayersMayUseTheLargestChunk() {
        LoraModule llama = layer(4096, 4096, 16);
        // with 2 GiB, 32 draws per chunk fit one layer: a one-layer module takes them
        assertEquals(32, LayerGroups.w0NullDrawsPerChunk(llama, 2 * GIB, 1));
    }
}
