package io.github.convsim.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchPlannerTest {
    private static final long GIB = 1L << 30;

    @Test
    void anLuSolveNeedsItsMatrixRightHandSidesAndPivots() {
        assertEquals(4096L * 4096 * 8 + 4096L * 16 * 8 + 4096L * 8 + 4, BatchPlanner.luSolveBytes(4096, 16, 8));
        assertEquals(134_774_788L, BatchPlanner.luSolveBytes(4096, 16, 8));
    }

    @Test
    void chunksHoldAsManyProblemsAsTheBudget() {
        List<String> ran = new ArrayList<>();
        assertEquals(3, BatchPlanner.inChunks(10, 100, 350, (from, count) -> ran.add(from + "+" + count)));
        assertEquals(List.of("0+3", "3+3", "6+3", "9+1"), ran, "350 bytes hold 3 problems of 100");
        ran.clear();
        BatchPlanner.inChunks(4, 100, 1L << 40, (from, count) -> ran.add(from + "+" + count));
        assertEquals(List.of("0+4"), ran);
        ran.clear();
        BatchPlanner.inChunks(2, 500, 100, (from, count) -> ran.add(from + "+" + count));
        assertEquals(List.of("0+1", "1+1"), ran, "a problem larger than the budget is still tried, alone");
        ran.clear();
        BatchPlanner.inChunks(0, 100, 1000, (from, count) -> ran.add(from + "+" + count));
        assertEquals(List.of(), ran);
    }

    @Test
    void aChunkThatRunsOutOfMemoryIsRunAgainInHalvesUntilItFits() {
        // planned 10 at a time, but the device holds 3 problems at once: 10, then 5, then 3 at a time
        List<int[]> ran = new ArrayList<>();
        List<int[]> tried = new ArrayList<>();
        int size = BatchPlanner.inChunks(10, 100, 1000, (from, count) -> {
            tried.add(new int[] {from, count});
            if (count > 3) {
                throw new DeviceOutOfMemoryException(count * 100L);
            }
            ran.add(new int[] {from, count});
        });
        assertEquals(3, size);
        assertEquals(List.of("0+10", "0+5", "0+3", "3+3", "6+3", "9+1"),
                tried.stream().map(t -> t[0] + "+" + t[1]).toList());
        // every problem ran exactly once, in order
        int next = 0;
        for (int[] r : ran) {
            assertEquals(next, r[0]);
            next += r[1];
        }
        assertEquals(10, next);
    }

    @Test
    void aSingleProblemThatDoesNotFitNamesTheBudget() {
        CudaException e = assertThrows(CudaException.class, () -> BatchPlanner.inChunks(4, 3 * GIB, 2 * GIB,
                (from, count) -> {
                    throw new DeviceOutOfMemoryException(3 * GIB);
                }));
        assertFalse(e instanceof DeviceOutOfMemoryException, "the last failure is reported, not split again");
        assertEquals("one problem needs 3.00 GiB of GPU memory but the budget is 2.00 GiB (--gpu-memory; by default 90 %"
                + " of what is free): give it more, or use --backend cpu", e.getMessage());
    }

    @Test
    void otherFailuresAreNotRetried() {
        int[] calls = {0};
        assertThrows(IllegalStateException.class, () -> BatchPlanner.inChunks(8, 1, 100, (from, count) -> {
            calls[0]++;
            throw new IllegalStateException("not memory");
        }));
        assertEquals(1, calls[0]);
    }
}
