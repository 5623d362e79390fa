package io.github.convsim.cache;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseCacheTest {
    @TempDir
    Path dir;

    private static Payload payload(double... values) {
        return new Payload(8).putDoubles(values).putInts(new int[] {3, 1, 2}).putString("2-norm");
    }

    private Path onlyEntry() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> entries = s.filter(p -> p.toString().endsWith(".entry")).toList();
            assertEquals(1, entries.size(), entries.toString());
            return entries.get(0);
        }
    }

    @Test
    void anEntryComesBackAsWrittenAndOnlyForItsKey() {
        BaseCache c = BaseCache.open(dir, 1 << 20);
        double[] values = {Math.PI, -0.0, Double.MIN_VALUE, 1e300};
        c.write("key one", payload(values));
        c.flush();
        ByteBuffer b = c.read("key one").orElseThrow();
        assertArrayEquals(values, Payload.getDoubles(b));
        assertArrayEquals(new int[] {3, 1, 2}, Payload.getInts(b));
        assertEquals("2-norm", Payload.getString(b));
        assertFalse(b.hasRemaining());
        assertTrue(c.read("key two").isEmpty());
        assertEquals(List.of(), c.notes());
        assertEquals(1L, c.summary().get("hits"));
        assertEquals(1L, c.summary().get("misses"));
    }

    /**
     * Payloads larger than what may wait for the writer (each then waits alone) and than one write slice (4 MiB) are
     * stored whole, arrays put by reference between values put in place; fp32 values held as doubles come back exactly
     * from their narrowed form.
     */
    @Test
    void largeEntriesPastTheQueueBoundAndTheWriteSliceComeBackWhole() {
        BaseCache c = BaseCache.open(dir, 64L << 20, 1L << 20);
        java.util.Random rng = new java.util.Random(8);
        double[][] values = new double[4][];
        for (int k = 0; k < values.length; k++) {
            values[k] = new double[(5 << 20) / Double.BYTES + k];
            for (int i = 0; i < values[k].length; i++) {
                values[k][i] = (float) rng.nextGaussian();
            }
            Payload p = new Payload(8).putInt(k).putDoublesByReference(values[k]).putNarrowedByReference(values[k])
                    .putDoubles(values[k]).putString("end");
            assertEquals(4 + 3 * 4 + values[k].length * (8 + 4 + 8) + 4 + 3, p.size());
            c.write("large " + k, p);
        }
        c.flush();
        assertEquals(List.of(), c.notes());
        for (int k = 0; k < values.length; k++) {
            ByteBuffer b = c.read("large " + k).orElseThrow();
            assertEquals(k, Payload.getInt(b));
            assertArrayEquals(values[k], Payload.getDoubles(b), 0.0);
            assertArrayEquals(values[k], Payload.getWidened(b), 0.0);
            assertArrayEquals(values[k], Payload.getDoubles(b), 0.0);
            assertEquals("end", Payload.getString(b));
            assertFalse(b.hasRemaining());
        }
    }

    @Test
    void aCorruptedByteIsFoundRemovedAndNoted() throws IOException {
        BaseCache c = BaseCache.open(dir, 1 << 20);
        c.write("k", payload(1, 2, 3));
        c.flush();
        Path f = onlyEntry();
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length - 3] ^= 0x10;
        Files.write(f, bytes);
        BaseCache again = BaseCache.open(dir, 1 << 20);
        assertEquals(Optional.empty(), again.read("k"));
        assertFalse(Files.exists(f), "a corrupt entry is removed");
        assertEquals(1, again.notes().size());
        assertTrue(again.notes().get(0).contains("corrupt (checksum mismatch)") && again.notes().get(0).contains(
                f.toString()), again.notes().toString());
    }

    @Test
    void aTruncatedEntryIsRefused() throws IOException {
        BaseCache c = BaseCache.open(dir, 1 << 20);
        c.write("k", payload(1, 2, 3, 4, 5));
        c.flush();
        Path f = onlyEntry();
        byte[] bytes = Files.readAllBytes(f);
        for (int keep : new int[] {bytes.length - 1, 40, 5, 0}) {
            Files.write(f, Arrays.copyOf(bytes, keep));
            BaseCache again = BaseCache.open(dir, 1 << 20);
            assertTrue(again.read("k").isEmpty(), "truncated to " + keep);
            assertEquals(1, again.notes().size(), again.notes().toString());
            assertFalse(Files.exists(f));
        }
        BaseCache again = BaseCache.open(dir, 1 << 20);
        Files.write(f, Arrays.copyOf(bytes, bytes.length - 8));
        again.read("k");
        assertTrue(again.notes().get(0).contains("truncated"), again.notes().toString());
    }

    @Test
    void aForeignFileOrAnEntryOfAnotherKeyUnderThisNameIsNotTrusted() throws IOException {
        BaseCache c = BaseCache.open(dir, 1 << 20);
        c.write("k", payload(1));
        c.flush();
        Path f = onlyEntry();
        Files.writeString(f, "{\"not\": \"a cache entry\"}");
        BaseCache again = BaseCache.open(dir, 1 << 20);
        assertTrue(again.read("k").isEmpty());
        assertTrue(again.notes().get(0).contains("foreign"), again.notes().toString());

        // a valid entry of key "other", renamed to where "k" would be: its key inside tells them apart
        c.write("other", payload(9));
        c.flush();
        Path other = onlyEntry();
        Files.move(other, f);
        BaseCache third = BaseCache.open(dir, 1 << 20);
        assertTrue(third.read("k").isEmpty());
        assertTrue(third.notes().get(0).contains("another key"), third.notes().toString());

        // an empty file (a crash of another tool, a full disk): nothing to map, and nothing trusted
        Files.write(f, new byte[0]);
        BaseCache fourth = BaseCache.open(dir, 1 << 20);
        assertTrue(fourth.read("k", Payload::getDoubles).isEmpty());
        assertTrue(fourth.notes().get(0).contains("foreign"), fourth.notes().toString());
        assertFalse(Files.exists(f), "removed");
    }

    @Test
    void theLeastRecentlyUsedEntriesGoWhenTheCapIsReached() throws IOException {
        double[] big = new double[1000];
        BaseCache first = BaseCache.open(dir, 100_000);
        for (String k : List.of("a", "b", "c")) {
            first.write(k, payload(big));
        }
        first.flush();
        long entry = Files.size(onlyOf(first, "a"));
        // ages: a oldest, then b, then c; a read refreshes b
        setAge(first, "a", 3000);
        setAge(first, "b", 2000);
        setAge(first, "c", 1000);
        BaseCache second = BaseCache.open(dir, 4 * entry + entry / 2);
        assertTrue(second.read("b").isPresent());
        second.write("d", payload(big));
        second.write("e", payload(big));
        second.flush();
        // five entries do not fit in 4.5: the least recently used (a) went; b was read, so c is older than b
        assertFalse(Files.exists(pathOf(second, "a")));
        assertTrue(Files.exists(pathOf(second, "b")));
        assertTrue(Files.exists(pathOf(second, "c")));
        BaseCache third = BaseCache.open(dir, 2 * entry + entry / 2);
        third.write("f", payload(big));
        third.flush();
        // f is this run's and stays; of the rest, the least recently used go (c, then b and d) until two entries fit
        assertTrue(Files.exists(pathOf(third, "f")));
        long left;
        try (Stream<Path> s = Files.list(dir)) {
            left = s.filter(p -> p.toString().endsWith(".entry")).count();
        }
        assertEquals(2, left);
        assertFalse(Files.exists(pathOf(third, "c")));
    }

    /**
     * An entry that does not fit beside the run's others is skipped, once noted, and smaller ones after it are still
     * stored while they fit (at 7B shapes the LU factors fill the cap before the small W0 nulls come).
     */
    @Test
    void aRunWhoseEntriesExceedTheCapSkipsThoseThatDoNotFitAndSaysSo() {
        BaseCache c = BaseCache.open(dir, 10_000);
        c.write("small", payload(1));
        c.write("big", payload(new double[2000]));
        c.write("small2", payload(2));
        c.flush();
        assertEquals(1, Payload.getDoubles(c.read("small").orElseThrow())[0]);
        assertTrue(c.read("big").isEmpty());
        assertEquals(2, Payload.getDoubles(c.read("small2").orElseThrow())[0], "an entry that fits after one that did not");
        assertEquals(1, c.notes().size());
        assertTrue(c.notes().get(0).contains("CONVSIM_CACHE_MAX_BYTES"), c.notes().toString());
    }

    /**
     * Entries a run read count toward its share of the cap, as those it writes do: trimming keeps both, so a run that
     * read most of the cap cannot write as much again beside them (the directory stays under the cap).
     */
    @Test
    void entriesARunReadCountTowardTheCapItWritesUnder() throws IOException {
        long cap = 40_000;
        BaseCache first = BaseCache.open(dir, cap);
        first.write("read later", payload(new double[3000]));
        first.flush();
        BaseCache second = BaseCache.open(dir, cap);
        assertTrue(second.read("read later").isPresent());
        second.write("written beside it", payload(new double[3000]));
        second.write("small", payload(1));
        second.flush();
        assertTrue(second.read("written beside it").isEmpty(), "the two would pass the cap, and neither may go");
        assertEquals(1, Payload.getDoubles(second.read("small").orElseThrow())[0]);
        long total;
        try (Stream<Path> s = Files.list(dir)) {
            total = s.mapToLong(f -> f.toFile().length()).sum();
        }
        assertTrue(total <= cap, total + " bytes in a cache capped at " + cap);
        assertTrue(second.notes().get(0).contains("CONVSIM_CACHE_MAX_BYTES"), second.notes().toString());
    }

    @Test
    void anUnwritableCacheIsNotedAndOtherwiseIgnored() throws IOException {
        // a file where the cache directory should be: no user, root included, can create the directory
        Path blocker = Files.writeString(dir.resolve("blocker"), "a file");
        BaseCache c = BaseCache.open(blocker.resolve("cache"), 1 << 20);
        c.write("k", payload(1));
        c.write("k2", payload(2));
        assertTrue(c.read("k").isEmpty());
        assertEquals(1, c.notes().size(), c.notes().toString());
        assertTrue(c.notes().get(0).startsWith("cannot write the cache in"), c.notes().toString());
    }

    /** A killed run's partial entry (untouched for an hour) goes at the next write; one being written stays. */
    @Test
    void aKilledRunsPartialEntryIsRemovedAndOneBeingWrittenIsNot() throws IOException {
        Files.createDirectories(dir);
        Path stale = Files.writeString(dir.resolve(".writing-1.tmp"), "half an entry");
        Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() - BaseCache.STALE_MILLIS
                - 60_000));
        Path current = Files.writeString(dir.resolve(".writing-2.tmp"), "another run's entry, being written");
        BaseCache c = BaseCache.open(dir, 1 << 20);
        c.write("k", payload(1));
        c.flush();
        assertFalse(Files.exists(stale));
        assertTrue(Files.exists(current));
        assertTrue(c.read("k").isPresent());
    }

    @Test
    void aPayloadBeyondOneJavaArrayIsRefusedBeforeAnythingIsAllocated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Payload(Payload.MAX_BYTES + 1));
        assertTrue(e.getMessage().contains("cannot exceed 2 GiB"), e.getMessage());
        // an fp64 LU of n = 16384 (2 GiB and its header) is just over: W0Cache skips such factors with a note
        assertTrue(16384L * 16384 * 8 + 256 > Payload.MAX_BYTES);
        assertTrue(8192L * 8192 * 8 + 256 < Payload.MAX_BYTES);
    }

    @Test
    void theDefaultDirectoryFollowsConvsimThenXdgThenHome() {
        assertEquals(Path.of("/c"), BaseCache.defaultDirectory(Map.of("CONVSIM_CACHE_DIR", "/c",
                "XDG_CACHE_HOME", "/x"), "/home/u"));
        assertEquals(Path.of("/x/convsim"), BaseCache.defaultDirectory(Map.of("XDG_CACHE_HOME", "/x"), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/convsim"), BaseCache.defaultDirectory(Map.of("XDG_CACHE_HOME",
                "relative"), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/convsim"), BaseCache.defaultDirectory(Map.of(), "/home/u"));
    }

    private static Path pathOf(BaseCache c, String key) {
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(key.getBytes(
                    java.nio.charset.StandardCharsets.UTF_8));
            return c.directory().resolve(java.util.HexFormat.of().formatHex(h) + ".entry");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static Path onlyOf(BaseCache c, String key) {
        Path p = pathOf(c, key);
        assertTrue(Files.exists(p), p.toString());
        return p;
    }

    private static void setAge(BaseCache c, String key, long secondsAgo) throws IOException {
        Files.setLastModifiedTime(pathOf(c, key), FileTime.fromMillis(System.currentTimeMillis() - secondsAgo * 1000));
    }
}
