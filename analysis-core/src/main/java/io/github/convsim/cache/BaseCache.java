package io.github.convsim.cache;

import io.github.convsim.io.Unmapper;
import io.github.convsim.io.WriteBehind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Results derived from W0 alone (its LU factors and cond, the W0 null's and the planted controls' bases), kept on disk
 * between runs so that a second adapter on the same base skips every factorisation. One file per entry, named by the
 * SHA-256 of its key; the key is written inside the entry too, so a file is used only for the exact key it was
 * written for.
 *
 * <p>An entry is: the magic {@code CONVSIM-CACHE} and a format version, the key (UTF-8), the payload's length and its
 * CRC-32C, then the payload. An entry whose magic, version, key, length or checksum does not match is corrupt,
 * truncated or foreign: it is removed, a note says so, and the caller computes the result afresh. Nothing in an entry
 * is trusted before it is verified. Entries are written to a temporary file and moved into place, so a reader never
 * sees half an entry, and concurrent runs on one cache at worst compute the same entry twice.
 *
 * <p>The directory is capped: after a write, the least recently used entries (by modification time, which a read
 * refreshes) are removed until the total fits, never one written or read by this run. An entry of this run that would
 * not fit beside the run's others (those it read and those it wrote, which the trimming keeps) is not stored, and a
 * note says so once; smaller ones after it still are while they fit (a module's W0 null, a few megabytes that spare
 * minutes at 7B shapes, comes after its layers' LU factors, which alone can fill the cap). A cache that cannot be
 * written (read-only, full) is noted and otherwise ignored: the cache speeds a run up and never stops one.
 */
public final class BaseCache {
    /** Default size cap: 4 GiB (the bundled demo's entries take about 0.2 GiB; a 7B base's LU factors take 17). */
    public static final long DEFAULT_MAX_BYTES = 4L << 30;
    private static final byte[] MAGIC = "CONVSIM-CACHE".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final String SUFFIX = ".entry";
    private static final int WRITE_SLICE = 4 << 20;
    private static final String WRITING_PREFIX = ".writing-";
    private static final String WRITING_SUFFIX = ".tmp";
    /** How long a partial entry must have been untouched before another run removes it as a killed run's. */
    static final long STALE_MILLIS = 60 * 60 * 1000;

    private final Path dir;
    private final long maxBytes;
    private final List<String> notes = new CopyOnWriteArrayList<>();
    private final Set<Path> usedByThisRun = ConcurrentHashMap.newKeySet();
    private final Set<Path> storedByThisRun = ConcurrentHashMap.newKeySet();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong writtenBytes = new AtomicLong();
    /**
     * This run's bytes in the cache, by entry: those it read (the cap's trimming keeps them) and those it writes, each
     * counted once at its largest. Its writes stop where they would take the total past the cap, so that this run's
     * entries, which trimming never removes, fit under it together.
     */
    private final Map<Path, Long> reserved = new java.util.HashMap<>();
    private long reservedTotal;
    private final java.util.Queue<java.util.concurrent.Future<?>> pending =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    /**
     * One writer, a daemon: entries are written in order, and a run that ends does not wait for it to exit. Payloads
     * waiting for it hold heap, so they are bounded (one larger payload waits alone): without a bound, the LU factors
     * of 4096 x 4096 layers (128 MiB each, and 64 MiB in fp32) piled up behind it. Payloads whose arrays the caller
     * holds anyway ({@link #writeHeld}) are not counted, and the caller waits for them before letting go.
     */
    private final WriteBehind writer;
    /** The writer's slice buffer: the writer is one thread, so one buffer, made at its first entry. */
    private ByteBuffer scratch;
    /** Whether this run has said that an entry did not fit under the cap (it says so once). */
    private volatile boolean capNoted;
    private volatile boolean unwritable;

    private BaseCache(Path dir, long maxBytes, long queuedBytes) {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.writer = new WriteBehind("convsim-cache-writer", queuedBytes);
    }

    /**
     * A cache in {@code dir} (created when first written), capped at {@code maxBytes}; payloads wait for the writer up
     * to an eighth of the heap (at least 64 MiB).
     */
    public static BaseCache open(Path dir, long maxBytes) {
        return open(dir, maxBytes, Math.max(64L << 20, Runtime.getRuntime().maxMemory() / 8));
    }

    static BaseCache open(Path dir, long maxBytes, long queuedBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("a cache cap must not be negative, got " + maxBytes);
        }
        return new BaseCache(dir, maxBytes, queuedBytes);
    }

    /**
     * Where the cache lives by default: {@code $CONVSIM_CACHE_DIR}, else {@code $XDG_CACHE_HOME/convsim}, else
     * {@code ~/.cache/convsim} (the XDG base directory specification's default).
     */
    public static Path defaultDirectory(Map<String, String> env, String userHome) {
        String own = env.get("CONVSIM_CACHE_DIR");
        if (own != null && !own.isBlank()) {
            return Path.of(own);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        // the specification: a relative path is invalid and is ignored
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "convsim");
        }
        return Path.of(userHome, ".cache", "convsim");
    }

    public Path directory() {
        return dir;
    }

    public long maxBytes() {
        return maxBytes;
    }

    /**
     * A heap copy of the verified payload stored under {@code key}, or empty (missing, or found wrong and removed with
     * a note).
     */
    public Optional<ByteBuffer> read(String key) {
        return read(key, payload -> {
            ByteBuffer copy = ByteBuffer.allocate(payload.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            return copy.put(payload).flip();
        });
    }

    /**
     * The verified payload under {@code key}, decoded by {@code decode}; empty when there is none, when it is found
     * wrong (removed, with a note), or when it does not decode (an entry of an older layout that kept its key: a
     * defect, and the result is computed afresh rather than trusted). Decoders signal a malformed payload by
     * {@link IllegalArgumentException} or {@link IndexOutOfBoundsException}, as {@link Payload}'s getters do.
     *
     * <p>The payload is the entry's file mapped into memory, and unmapped when {@code decode} returns: a decoder copies
     * what it keeps (as {@link Payload}'s getters do) and never keeps the buffer or a view of it.
     */
    public <T> Optional<T> read(String key, java.util.function.Function<ByteBuffer, T> decode) {
        Path file = fileOf(key);
        if (!Files.isDirectory(dir)) {
            misses.incrementAndGet();
            return Optional.empty();
        }
        MappedByteBuffer entry = null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() <= Integer.MAX_VALUE) {
                entry = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            }
        } catch (NoSuchFileException e) {
            misses.incrementAndGet();
            return Optional.empty();
        } catch (IOException e) {
            note("cannot read cache entry " + file + " (" + e.getMessage() + "); computed afresh");
            misses.incrementAndGet();
            return Optional.empty();
        }
        if (entry == null) {
            return rejected(file, "larger than any entry convsim writes");
        }
        String problem;
        try {
            problem = problemOf(entry.order(ByteOrder.LITTLE_ENDIAN), key);
            if (problem == null) {
                usedByThisRun.add(file);
                reserve(file, entry.capacity(), true);
                try {
                    Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis()));
                } catch (IOException ignored) {
                    // least-recently-used order is a preference: an entry that cannot be touched is still valid
                }
                hits.incrementAndGet();
                int payloadAt = headerLength(key);
                return Optional.of(decode.apply(entry.slice(payloadAt, entry.capacity() - payloadAt)
                        .order(ByteOrder.LITTLE_ENDIAN)));
            }
        } catch (IllegalArgumentException | IndexOutOfBoundsException undecodable) {
            return Optional.empty();
        } finally {
            Unmapper.unmap(entry);
        }
        // removed once unmapped: some systems refuse to delete a mapped file
        return rejected(file, problem);
    }

    private <T> Optional<T> rejected(Path file, String problem) {
        note("cache entry " + file + " is " + problem + "; ignored, removed and computed afresh");
        delete(file);
        misses.incrementAndGet();
        return Optional.empty();
    }

    /**
     * Stores {@code payload} (which the caller must not change afterwards, nor the arrays it holds by reference) under
     * {@code key}, then trims the cache to its cap: on a background thread, so that the numerical work goes on
     * meanwhile; {@link #flush} waits for it.
     */
    public void write(String key, Payload payload) {
        write(key, payload, false);
    }

    /**
     * As {@link #write(String, Payload)}, for a payload whose arrays (held by reference) the caller keeps alive anyway
     * until it calls {@link #awaitHeldWrites}: it is queued without waiting for the writer, since it costs no heap
     * until then (a layer group's LU factors, used by the rest of the group's work while they are written).
     */
    public void writeHeld(String key, Payload payload) {
        write(key, payload, true);
    }

    /** Waits until every entry given to {@link #writeHeld} has been written (or noted as not stored). */
    public void awaitHeldWrites() {
        writer.awaitHeld();
    }

    private void write(String key, Payload payload, boolean held) {
        if (unwritable) {
            return;
        }
        long size = headerLength(key) + payload.size();
        if (!reserve(fileOf(key), size, false)) {
            if (!capNoted) {
                capNoted = true;
                note("the cache's cap of " + mib(maxBytes) + " is smaller than this run's entries; those that did not"
                        + " fit were not stored (raise it with CONVSIM_CACHE_MAX_BYTES)");
            }
            return;
        }
        Runnable job = () -> store(key, payload, size);
        pending.add(held ? writer.submitHeld(job) : writer.submit(size, job));
    }

    /**
     * Counts {@code bytes} of {@code file} as this run's; false, counting nothing, where that would take this run's
     * total past the cap, unless {@code always} (an entry read: it is on disk already).
     */
    private boolean reserve(Path file, long bytes, boolean always) {
        synchronized (reserved) {
            long before = reserved.getOrDefault(file, 0L);
            long more = Math.max(0, bytes - before);
            if (!always && reservedTotal + more > maxBytes) {
                return false;
            }
            reserved.put(file, before + more);
            reservedTotal += more;
            return true;
        }
    }

    /**
     * Removes every entry this run stored, once its queued writes are done: for a run whose base changed while it was
     * read, whose entries hold results of one version of the base under the hash of another.
     */
    public void discardWritten() {
        flush();
        int n = storedByThisRun.size();
        storedByThisRun.forEach(BaseCache::delete);
        storedByThisRun.clear();
        if (n > 0) {
            note("removed the " + n + " cache entries this run wrote: an input changed while it was read");
        }
    }

    /** Waits until every entry written so far is on disk (or noted as not stored). */
    public void flush() {
        for (java.util.concurrent.Future<?> f = pending.poll(); f != null; f = pending.poll()) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                note("cannot write the cache in " + dir + " (" + e.getCause() + ")");
            }
        }
    }

    private void store(String key, Payload body, long size) {
        if (unwritable) {
            return;
        }
        Path file = fileOf(key);
        Path tmp = null;
        // a run stopped while it writes (Ctrl-C, SIGTERM) removes the partial entry; a killed one leaves it to trim
        PartialEntry partial = new PartialEntry();
        Thread cleanup = new Thread(partial::stop, "convsim-cache-cleanup");
        try {
            Runtime.getRuntime().addShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            return;
        }
        try {
            Files.createDirectories(dir);
            tmp = partial.create(dir);
            if (tmp == null) {
                return;
            }
            byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
            ByteBuffer header = ByteBuffer.allocate(headerLength(key)).order(ByteOrder.LITTLE_ENDIAN);
            header.put(MAGIC).putInt(VERSION).putInt(keyBytes.length).put(keyBytes).putLong(body.size());
            CRC32C crc = new CRC32C();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.position(header.capacity());
                // in slices of at most 4 MiB: a heap buffer is written through a temporary direct buffer of its size
                // (per thread, kept), which for a whole 7B LU was 128 MiB of native memory
                body.writeTo(scratch(), slice -> {
                    crc.update(slice.duplicate());
                    while (slice.hasRemaining()) {
                        ch.write(slice);
                    }
                });
                // the checksum precedes the payload, so the header goes in last
                header.putInt((int) crc.getValue()).flip();
                for (long at = 0; header.hasRemaining(); ) {
                    at += ch.write(header, at);
                }
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            usedByThisRun.add(file);
            storedByThisRun.add(file);
            written.incrementAndGet();
            writtenBytes.addAndGet(size);
            trim();
        } catch (IOException e) {
            unwritable = true;
            note("cannot write the cache in " + dir + " (" + e.getMessage() + "); this run stores nothing there");
        } finally {
            if (tmp != null) {
                delete(tmp);
            }
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or has run
            }
        }
    }

    /**
     * The partial file of an entry being stored, which a stopping JVM's hook removes. The file is created and recorded
     * in one step, under the hook's lock: a file created just before the hook ran, and not yet recorded, was left
     * behind (StoppedWriterTest caught it in 3 of 26 runs). Once the hook has run, no file is begun.
     */
    private static final class PartialEntry {
        private Path file;
        private boolean stopped;

        /** A new partial file in {@code dir}, or null where the JVM is stopping. */
        synchronized Path create(Path dir) throws IOException {
            if (stopped) {
                return null;
            }
            file = Files.createTempFile(dir, WRITING_PREFIX, WRITING_SUFFIX);
            return file;
        }

        synchronized void stop() {
            stopped = true;
            if (file != null) {
                delete(file);
            }
        }
    }

    private ByteBuffer scratch() {
        if (scratch == null) {
            scratch = ByteBuffer.allocateDirect(WRITE_SLICE);
        }
        return scratch;
    }

    /**
     * Removes the least recently used entries, never this run's, until the directory fits the cap; and the partial
     * entries of killed runs (SIGKILL, a power loss), untouched for {@link #STALE_MILLIS}: a run that is writing one
     * touches it at every slice.
     */
    private synchronized void trim() throws IOException {
        record Entry(Path path, long size, long used) {}
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, WRITING_PREFIX + "*" + WRITING_SUFFIX)) {
            long staleBefore = System.currentTimeMillis() - STALE_MILLIS;
            for (Path f : files) {
                try {
                    if (Files.getLastModifiedTime(f).toMillis() < staleBefore) {
                        delete(f);
                    }
                } catch (NoSuchFileException removedMeanwhile) {
                    // its run finished it, or another run removed it
                }
            }
        }
        List<Entry> entries = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : files) {
                try {
                    entries.add(new Entry(f, Files.size(f), Files.getLastModifiedTime(f).toMillis()));
                } catch (NoSuchFileException removedMeanwhile) {
                    // another run trimmed it
                }
            }
        }
        long total = entries.stream().mapToLong(Entry::size).sum();
        entries.sort(Comparator.comparingLong(Entry::used));
        for (Entry e : entries) {
            if (total <= maxBytes) {
                break;
            }
            if (!usedByThisRun.contains(e.path())) {
                delete(e.path());
                total -= e.size();
            }
        }
    }

    /** What is wrong with an entry's bytes for {@code key}, or null when nothing is. */
    private static String problemOf(ByteBuffer entry, String key) {
        ByteBuffer b = entry.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < MAGIC.length + 8 || !b.slice(0, MAGIC.length).equals(ByteBuffer.wrap(MAGIC))) {
            return "not a convsim cache entry (foreign file)";
        }
        b.position(MAGIC.length);
        int version = b.getInt();
        if (version != VERSION) {
            return "of format version " + version + ", not " + VERSION;
        }
        byte[] expected = key.getBytes(StandardCharsets.UTF_8);
        int keyLength = b.getInt();
        if (keyLength != expected.length || b.remaining() < keyLength + 12
                || !b.slice(b.position(), keyLength).equals(ByteBuffer.wrap(expected))) {
            return "written for another key (foreign, or truncated)";
        }
        b.position(b.position() + keyLength);
        long length = b.getLong();
        int crc = b.getInt();
        if (length != b.remaining()) {
            return "truncated (" + b.remaining() + " of " + length + " payload bytes)";
        }
        CRC32C check = new CRC32C();
        check.update(b);
        if ((int) check.getValue() != crc) {
            return "corrupt (checksum mismatch)";
        }
        return null;
    }

    private static int headerLength(String key) {
        return MAGIC.length + 4 + 4 + key.getBytes(StandardCharsets.UTF_8).length + 8 + 4;
    }

    private Path fileOf(String key) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return dir.resolve(HexFormat.of().formatHex(h) + SUFFIX);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    private static void delete(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException ignored) {
            // a file that cannot be removed is verified again, and refused again, on the next read
        }
    }

    /** Adds a line to {@link #notes} (what a caller could not store, say). */
    public void note(String s) {
        if (notes.size() < 20 && !notes.contains(s)) {
            notes.add(s);
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    /** What went wrong with the cache in this run (at most 20 lines), for the user (after waiting for the writes). */
    public List<String> notes() {
        flush();
        return List.copyOf(notes);
    }

    /** Hits, misses and entries written in this run, for provenance (after waiting for the writes). */
    public Map<String, Object> summary() {
        flush();
        // in this order in every report, so that two reports' provenance can be diffed
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("directory", dir.toString());
        m.put("hits", hits.get());
        m.put("misses", misses.get());
        m.put("written", written.get());
        m.put("written_bytes", writtenBytes.get());
        m.put("max_bytes", maxBytes);
        return m;
    }
}
