package io.github.convsim.cache;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run stopped (SIGTERM, Ctrl-C's shutdown path) while it writes a cache entry leaves no partial entry behind. */
class StoppedWriterTest {
    @TempDir
    Path dir;

    /** Writes 64 MiB entries, one after another, into the cache at {@code args[0]}, until it is stopped. */
    public static final class Writer {
        public static void main(String[] args) {
            BaseCache cache = BaseCache.open(Path.of(args[0]), 1L << 40);
            double[] factors = new double[8 << 20];
            java.util.Arrays.fill(factors, 1.5);
            for (int k = 0; k < 1000; k++) {
                cache.write("entry " + k, new Payload(64).putDoublesByReference(factors));
                cache.flush();
            }
        }
    }

    private List<String> partial(Path cache) throws Exception {
        if (!Files.isDirectory(cache)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(cache)) {
            return s.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(".writing-")).toList();
        }
    }

    @Test
    void aStoppedRunRemovesTheEntryItWasWriting() throws Exception {
        Path cache = dir.resolve("cache");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                Writer.class.getName(), cache.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (partial(cache).isEmpty()) {
            assertTrue(p.isAlive(), "the writer ended before it could be stopped: "
                    + Files.readString(dir.resolve("log.txt")));
            assertTrue(System.nanoTime() < deadline, "no entry was being written");
            Thread.sleep(2);
        }
        p.destroy(); // SIGTERM: the JVM runs its shutdown hooks, as on Ctrl-C
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertNotEquals(0, p.exitValue());
        assertEquals(List.of(), partial(cache), "a partial entry was left behind");
        try (Stream<Path> s = Files.list(cache)) {
            assertTrue(s.allMatch(f -> f.getFileName().toString().endsWith(".entry")));
        }
    }
}
