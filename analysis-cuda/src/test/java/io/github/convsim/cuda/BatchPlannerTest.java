package io.github.convsim.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class BatchPlannerTest {
    private static final long GIB = 1L << 30;

    @Test
    void chunksFitTheFreeMemoryLessTheReserveAndWorkspace() {
        long per = BatchPlanner.luSolveBytes(4096, 16, 8);
        assertEquals(4096L * 4096 * 8 + 4096L * 16 * 8 + 4096L * 8 + 4, per);
        assertEquals(134_774_788L, per);
        // 80 GiB free, 10 % reserve, 1 GiB workspace: floor(76,235,669,504 / 134,774,788) = 565 (worked by hand)
        assertEquals(565, BatchPlanner.problemsPerChunk(80 * GIB, per, GIB, 1000));
        assertEquals(128, BatchPlanner.problemsPerChunk(80 * GIB, per, GIB, 128));
        assertEquals(565, BatchPlanner.problemsPerChunk(80 * GIB, per, GIB, 566));
        assertEquals(3, BatchPlanner.problemsPerChunk(80 * GIB, per, GIB, 3));
        assertEquals(0, BatchPlanner.problemsPerChunk(80 * GIB, per, GIB, 0));
    }

    @Test
    void aProblemLargerThanTheDeviceIsAClearError() {
        long per = BatchPlanner.luSolveBytes(65536, 16, 8); // 32 GiB
        CudaException e = assertThrows(CudaException.class,
                () -> BatchPlanner.problemsPerChunk(16 * GIB, per, 0, 4));
        assertTrue(e.getMessage().contains("32.0"), e.getMessage());
        assertTrue(e.getMessage().contains("16.00 GiB are free"), e.getMessage());
    }
}
