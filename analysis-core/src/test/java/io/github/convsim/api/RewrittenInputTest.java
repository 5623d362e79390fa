package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.convsim.TestData;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An input rewritten in place, at the same size, while convsim reads it: the readers' size checks cannot see it, and
 * the report would carry a hash of one version over numbers of another. The run refuses it, naming the file.
 */
class RewrittenInputTest {
    @TempDir
    Path dir;

    private Path adapterCopy(String name) throws IOException {
        Path a = Files.createDirectories(dir.resolve(name));
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            Files.copy(TestData.bertAdapter().resolve(f), a.resolve(f));
        }
        return a;
    }

    /** Overwrites the file's last 4 bytes with others (its size unchanged) and moves its modification time on. */
    private static void rewriteInPlace(Path f) throws IOException {
        FileTime before = Files.getLastModifiedTime(f);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(4);
            ch.read(b, ch.size() - 4);
            b.flip();
            ByteBuffer flipped = ByteBuffer.allocate(4);
            while (b.hasRemaining()) {
                flipped.put((byte) ~b.get());
            }
            flipped.flip();
            ch.write(flipped, ch.size() - 4);
        }
        // file systems with coarse timestamps would otherwise keep the same time
        Files.setLastModifiedTime(f, FileTime.fromMillis(before.toMillis() + 2000));
    }

    @Test
    void aFileRewrittenAtTheSameSizeIsNamed() throws Exception {
        Path adapter = adapterCopy("stamped");
        Path weights = adapter.resolve("adapter_model.safetensors");
        long size = Files.size(weights);
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, TestData.bertBase())) {
            assertDoesNotThrow(ckpt::requireUnchanged);
            rewriteInPlace(weights);
            assertEquals(size, Files.size(weights));
            CheckpointException e = assertThrows(CheckpointException.class, ckpt::requireUnchanged);
            assertTrue(e.getMessage().startsWith(weights + ": changed while convsim read it (modified at "),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("another program rewrote it, and the numbers may mix two versions of"
                    + " it; run again once it is written"), e.getMessage());
        }
    }

    /**
     * A rewrite that puts the old modification time back (cp -p, rsync -t, touch -r) keeps size and mtime: the
     * status-change time, which no program can set, tells it.
     */
    @Test
    void aRewriteThatRestoresTheModificationTimeIsNamed() throws Exception {
        Path adapter = adapterCopy("mtime-kept");
        Path weights = adapter.resolve("adapter_model.safetensors");
        assumeTrue(supportsStatusChangeTime(weights), "no unix:ctime on this file system");
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, TestData.bertBase())) {
            FileTime opened = Files.getLastModifiedTime(weights);
            Thread.sleep(50); // the kernel's ctime clock is coarse (a tick of a few ms)
            rewriteInPlace(weights);
            Files.setLastModifiedTime(weights, opened);
            assertEquals(opened, Files.getLastModifiedTime(weights));
            CheckpointException e = assertThrows(CheckpointException.class, ckpt::requireUnchanged);
            assertTrue(e.getMessage().startsWith(weights + ": changed while convsim read it (status changed at "),
                    e.getMessage());
            assertTrue(e.getMessage().contains(" now, with its modification time kept, as a rewrite by cp -p or rsync"
                    + " -t leaves it; a chmod, chown or new hard link does this too): another program rewrote it"),
                    e.getMessage());
        }
    }

    /** Another file of the same size and time moved to the input's name (rsync writes a copy and renames it). */
    @Test
    void aFileReplacedByRenameIsNamed() throws Exception {
        Path adapter = adapterCopy("renamed");
        Path weights = adapter.resolve("adapter_model.safetensors");
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, TestData.bertBase())) {
            Path copy = dir.resolve("copy.safetensors");
            Files.copy(weights, copy, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            rewriteInPlace(copy);
            Files.setLastModifiedTime(copy, Files.getLastModifiedTime(weights));
            Files.move(copy, weights, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            CheckpointException e = assertThrows(CheckpointException.class, ckpt::requireUnchanged);
            assertTrue(e.getMessage().startsWith(weights + ": changed while convsim read it (another file was moved"
                    + " to its name)"), e.getMessage());
        }
    }

    /** Changing nothing, not even reading the file again, leaves the stamp as it was. */
    @Test
    void aFileReadAgainIsUnchanged() throws Exception {
        Path adapter = adapterCopy("reread");
        Path weights = adapter.resolve("adapter_model.safetensors");
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, TestData.bertBase())) {
            Thread.sleep(50);
            Files.readAllBytes(weights);
            assertDoesNotThrow(ckpt::requireUnchanged);
        }
    }

    private static boolean supportsStatusChangeTime(Path f) {
        try {
            return Files.getAttribute(f, "unix:ctime") != null;
        } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
            return false;
        }
    }

    @Test
    void anAnalysisDuringWhichTheAdapterIsRewrittenFails() throws Exception {
        Path adapter = adapterCopy("during");
        Path weights = adapter.resolve("adapter_model.safetensors");
        AnalysisOptions options = AnalysisOptions.builder().modules("value")
                .similarity(SimilaritySettings.builder().nulls(NullModel.ANALYTIC).controls().build()).build();
        AtomicBoolean rewritten = new AtomicBoolean();
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, TestData.bertBase());
             Backends.Choice cpu = Backends.select("cpu")) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> Analysis.run(ckpt, options, cpu,
                    (phase, done, total) -> {
                        if (rewritten.compareAndSet(false, true)) {
                            try {
                                rewriteInPlace(weights);
                            } catch (IOException io) {
                                throw new java.io.UncheckedIOException(io);
                            }
                        }
                    }));
            assertTrue(rewritten.get());
            assertTrue(e.getMessage().startsWith(weights + ": changed while convsim read it"), e.getMessage());
        }
        // with the W0 cache on, a base rewritten under the run: its entries would hold results of the new bytes under
        // the hash of the old ones (restoring the old file would then read them); they are removed
        Path base = dir.resolve("base.safetensors");
        Files.copy(TestData.bertBase(), base);
        Path cacheDir = dir.resolve("cache");
        io.github.convsim.cache.BaseCache cache = io.github.convsim.cache.BaseCache.open(cacheDir, 1L << 30);
        AtomicBoolean baseRewritten = new AtomicBoolean();
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapterCopy("cached"), base);
             Backends.Choice cpu = Backends.select("cpu")) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> Analysis.run(ckpt, options, cpu,
                    (phase, done, total) -> {
                        if (phase.equals("similarity") && baseRewritten.compareAndSet(false, true)) {
                            try {
                                rewriteInPlace(base);
                            } catch (IOException io) {
                                throw new java.io.UncheckedIOException(io);
                            }
                        }
                    }, cache, m -> { }));
            assertTrue(e.getMessage().startsWith(base + ": changed while convsim read it"), e.getMessage());
        }
        assertTrue(baseRewritten.get());
        assertTrue(((Number) cache.summary().get("written")).longValue() > 0, "the run wrote entries before it failed");
        try (var entries = Files.list(cacheDir)) {
            assertEquals(List.of(), entries.map(Path::getFileName).map(Path::toString).toList());
        }
        assertTrue(cache.notes().stream().anyMatch(n -> n.matches("removed the [1-9][0-9]* cache entries this run"
                + " wrote: an input changed while it was read")), cache.notes().toString());

        // the same analysis of an untouched copy runs
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapterCopy("untouched"), TestData.bertBase());
             Backends.Choice cpu = Backends.select("cpu")) {
            assertEquals(1, Analysis.run(ckpt, options, cpu, (phase, done, total) -> { }).modules().size());
        }
    }
}
