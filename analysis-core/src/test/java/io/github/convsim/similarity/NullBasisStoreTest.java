package io.github.convsim.similarity;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.conversion.Factor;
import io.github.convsim.linalg.Matrix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NullBasisStoreTest {
    private static SubspaceBasis basis(Random rng, int n, int k) {
        double[] d = new double[n * k];
        for (int i = 0; i < d.length; i++) {
            d[i] = rng.nextGaussian();
        }
        double[] s = new double[k];
        for (int i = 0; i < k; i++) {
            s[i] = k - i;
        }
        return new SubspaceBasis(new Matrix(n, k, d), s, k - 1);
    }

    @Test
    void spilledBasesComeBackAsStoredKeepingOnlyTheRequestedSideAndPrefix(@TempDir Path dir) throws Exception {
        Random rng = new Random(3);
        try (NullBasisStore memory = NullBasisStore.inMemory(Set.of(Side.LEFT), 5);
             NullBasisStore disk = NullBasisStore.spilling(Set.of(Side.LEFT), 5, dir)) {
            assertTrue(disk.spilled());
            assertFalse(memory.spilled());
            for (int layer = 0; layer < 3; layer++) {
                for (int draw = 0; draw < 4; draw++) {
                    for (Factor f : List.of(Factor.A, Factor.DW)) {
                        FactorBases.Pair p = new FactorBases.Pair(basis(rng, 50, 8), basis(rng, 8, 8));
                        memory.add(f, draw, p);
                        disk.add(f, draw, p);
                    }
                }
            }
            assertEquals(4, disk.draws(Factor.A));
            assertEquals(0, disk.draws(Factor.B));
            assertEquals(3L * 4 * 2 * 50 * 5 * 8, disk.bytes());
            assertEquals(memory.bytes(), disk.bytes());
            for (int draw = 0; draw < 4; draw++) {
                List<FactorBases.Pair> a = memory.get(Factor.DW, draw);
                List<FactorBases.Pair> b = disk.get(Factor.DW, draw);
                assertEquals(3, b.size());
                for (int l = 0; l < 3; l++) {
                    assertNull(b.get(l).right());
                    assertEquals(5, b.get(l).left().vectors().cols());
                    assertEquals(7, b.get(l).left().rank());
                    assertArrayEquals(a.get(l).left().vectors().data(), b.get(l).left().vectors().data(), 0);
                    assertArrayEquals(a.get(l).left().singularValues(), b.get(l).left().singularValues(), 0);
                }
            }
            try (Stream<Path> files = Files.list(dir)) {
                // opened with DELETE_ON_CLOSE, which on Linux unlinks the file at once: a killed run leaves nothing
                assertEquals(0, files.count());
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count(), "nothing is left after close");
        }
    }

    @Test
    void basesWrittenBehindPastTheWindowComeBackInTheirPlaces(@TempDir Path dir) throws Exception {
        int n = 2048;
        int k = 16;
        long entryBytes = NullBasisStore.bytesPerPair(n, k, 1);
        int entries = (int) (3 * NullBasisStore.WRITE_BEHIND_BYTES / entryBytes);
        int layers = 4;
        try (NullBasisStore disk = NullBasisStore.spilling(Set.of(Side.LEFT), k, dir)) {
            // regenerated from the seed to compare, not kept: the writer must not rely on the caller holding them
            for (int e = 0; e < entries; e++) {
                disk.add(Factor.B, e / layers, new FactorBases.Pair(basis(new Random(e), n, k), null));
            }
            assertEquals(entries * entryBytes, disk.bytes());
            for (int e = entries - 1; e >= 0; e--) {
                SubspaceBasis back = disk.get(Factor.B, e / layers).get(e % layers).left();
                SubspaceBasis sent = basis(new Random(e), n, k);
                assertArrayEquals(sent.vectors().data(), back.vectors().data(), 0, "entry " + e);
                assertArrayEquals(sent.singularValues(), back.singularValues(), 0);
            }
        }
    }
}
