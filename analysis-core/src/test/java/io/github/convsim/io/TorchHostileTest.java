package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile torch checkpoints: every one refused with one clear message, quickly and within a small memory. */
class TorchHostileTest {
    @TempDir
    Path dir;

    private Path tensor(long storageNumel, long offset, long[] size, long[] stride) throws Exception {
        return TorchZipWriter.write(dir.resolve("t.bin"),
                TorchZipWriter.tensorPickle("w", storageNumel, offset, size, stride), 4 * storageNumel, false);
    }

    private String readError(Path file) throws Exception {
        try (TorchStateDict sd = TorchStateDict.open(file)) {
            return assertThrows(CheckpointException.class, () -> sd.readDoubles("w")).getMessage();
        }
    }

    @Test
    void aStrideThatOverflowsIsRefusedNotWrappedAround() throws Exception {
        // 2^62 + 768: (2 - 1) * stride + ... wrapped to 768 in 64 bits before; 2 * 2^62 overflows
        String m = readError(tensor(1024, 0, new long[] {3, 2}, new long[] {(1L << 62) + 768, 1}));
        assertTrue(m.contains("overflow 64 bits"), m);
    }

    @Test
    void aHugeStrideIsAViewPastItsStorage() throws Exception {
        String m = readError(tensor(1024, 0, new long[] {2, 2}, new long[] {1L << 40, 1}));
        assertTrue(m.contains("reaches element 1099511627777 of a storage of 1024"), m);
    }

    @Test
    void negativeStridesAndStorageSizesAreRefusedAtOpen() throws Exception {
        Path neg = TorchZipWriter.write(dir.resolve("n.bin"),
                TorchZipWriter.tensorPickle("w", 16, 0, new long[] {2, 2}, new long[] {-2, 1}), 64, false);
        CheckpointException e = assertThrows(CheckpointException.class, () -> TorchStateDict.open(neg));
        assertTrue(e.getMessage().contains("not a non-negative integer"), e.getMessage());
        Path huge = TorchZipWriter.write(dir.resolve("h.bin"),
                TorchZipWriter.tensorPickle("w", 1L << 62, 0, new long[] {2}, new long[] {1}), 64, false);
        CheckpointException h = assertThrows(CheckpointException.class, () -> TorchStateDict.open(huge));
        assertTrue(h.getMessage().contains("more elements or bytes than 64 bits can count"), h.getMessage());
    }

    @Test
    void aMemoBombIsRefusedAtOnce() throws Exception {
        Path bomb = TorchZipWriter.write(dir.resolve("m.bin"), TorchZipWriter.memoBomb(5_000_000), 0, true);
        long t0 = System.nanoTime();
        CheckpointException e = assertThrows(CheckpointException.class, () -> TorchStateDict.open(bomb));
        assertTrue(e.getMessage().contains("memoizes more than " + RestrictedUnpickler.MAX_MEMO), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "refused within seconds");
    }

    @Test
    void aSmallViewOfAHugeCompressedStorageInflatesOnlyWhatItReads() throws Exception {
        long numel = 100_000_000; // 400 MB of zeros, deflated to under 1 MB
        Path zip = TorchZipWriter.write(dir.resolve("z.bin"),
                TorchZipWriter.tensorPickle("w", numel, 0, new long[] {48, 128}, new long[] {128, 1}), 4 * numel, true);
        assertTrue(Files.size(zip) < 2_000_000, "compressed: " + Files.size(zip));
        long t0 = System.nanoTime();
        try (TorchStateDict sd = TorchStateDict.open(zip)) {
            assertEquals(6144, sd.readDoubles("w").length);
        }
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "read without inflating 400 MB");
        Path far = TorchZipWriter.write(dir.resolve("f.bin"),
                TorchZipWriter.tensorPickle("w", numel, numel - 6144, new long[] {6144}, new long[] {1}), 4 * numel,
                true);
        String m = readError(far);
        assertTrue(m.contains("needs 24576 bytes but would inflate 400000000 bytes"), m);
    }

    @Test
    void theSameViewFromAStoredStorageIsRead() throws Exception {
        long numel = 20_000_000;
        Path stored = TorchZipWriter.write(dir.resolve("s.bin"),
                TorchZipWriter.tensorPickle("w", numel, numel - 6144, new long[] {6144}, new long[] {1}), 4 * numel,
                false);
        try (TorchStateDict sd = TorchStateDict.open(stored)) {
            assertEquals(6144, sd.readDoubles("w").length);
        }
    }
}
