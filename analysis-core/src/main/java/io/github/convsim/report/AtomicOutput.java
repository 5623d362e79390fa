package io.github.convsim.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.results.Provenance;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Makes a report directory appear all at once, and never deletes anything that is not convsim's own output.
 *
 * <p>Everything is written into a temporary sibling that carries a marker ({@value #MARKER}: JSON with the output
 * format version and the command) from its first moment, then renamed into place. The destination must be absent, an
 * empty directory, or a directory with that marker: a report convsim wrote, which a re-run of the same command
 * replaces (another command's report only with {@code force}). Anything else is refused whatever {@code force} says,
 * and so is a destination that is or contains an input, the working directory, the home directory, the filesystem
 * root or the root of a version-controlled tree. The final move checks the destination again and never deletes what
 * appeared meanwhile. An operating-system lock on a file beside the destination (released even when the process is
 * killed; the file is removed when the run ends) refuses a second run into the same destination while the first is
 * writing. Temporary directories left by killed
 * processes are removed by the next run into the same destination, when they carry the marker.
 */
public final class AtomicOutput implements AutoCloseable {
    /** The marker file in every output directory convsim writes. */
    public static final String MARKER = ".convsim-output";
    /** Version of the marker and of the output layout it vouches for. */
    public static final int FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LEFTOVER = Pattern.compile("\\.(.+)\\.(tmp|old)-(\\d+)-[0-9a-f]+");

    /** Writes into a directory. */
    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    private final Path target;
    private final String shown;
    private final String command;
    private final Path temp;
    private final Thread cleanup;
    private final Path lockFile;
    private final Locked locked;

    /** Registers the clean-up before the directory exists, so no interruption can leave it behind. */
    private AtomicOutput(Path target, String shown, String command, Path temp, Path lockFile, Locked locked)
            throws IOException {
        this.target = target;
        this.shown = shown;
        this.command = command;
        this.temp = temp;
        this.lockFile = lockFile;
        this.locked = locked;
        this.cleanup = new Thread(() -> {
            discard(temp);
            locked.release(lockFile);
        }, "convsim-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            Files.createDirectory(temp);
            writeMarker(temp, command);
        } catch (IOException e) {
            deleteQuietly(temp);
            Runtime.getRuntime().removeShutdownHook(cleanup);
            locked.release(lockFile);
            throw e;
        }
    }

    /**
     * Checks the destination, takes its lock, removes what killed runs left beside it, and creates the temporary
     * directory.
     *
     * @param target the --out the user gave
     * @param force whether a report of another convsim command may be replaced
     * @param command the command writing ("analyze", "compare", ...), recorded in the marker
     * @param inputs every file and directory the command reads: none may be at or inside the destination
     * @throws OutputException with one line naming {@code target} and the reason, for a destination that may not be
     *     replaced or cannot be written
     */
    public static AtomicOutput prepare(Path target, boolean force, String command, List<Path> inputs)
            throws OutputException {
        String shown = target.toString();
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null) {
            throw OutputException.refused(shown, "it is the root of the file system");
        }
        refuseProtected(abs, shown, inputs);
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw OutputException.unwritable(shown, e);
        }
        requireReplaceable(abs, shown, command, force);
        String unique = ProcessHandle.current().pid() + "-"
                + Long.toHexString(new java.security.SecureRandom().nextLong() >>> 1);
        Path lockFile = parent.resolve("." + abs.getFileName() + ".convsim-lock");
        Locked locked = lock(lockFile, unique, shown);
        try {
            removeLeftovers(parent, abs.getFileName().toString());
            return new AtomicOutput(abs, shown, command, parent.resolve("." + abs.getFileName() + ".tmp-" + unique),
                    lockFile, locked);
        } catch (IOException e) {
            locked.release(lockFile);
            throw OutputException.unwritable(shown, e);
        }
    }

    /** An operating-system lock on the lock file (released by the system even when the process is killed). */
    private record Locked(FileChannel channel, FileLock lock) {
        /** Deletes the lock file while still holding it, then releases it (see {@link #lock}). */
        void release(Path lockFile) {
            try {
                Files.deleteIfExists(lockFile);
            } catch (IOException e) {
                // an empty file left behind; the next run takes it over
            }
            try {
                lock.release();
            } catch (IOException e) {
                // released when the channel closes
            }
            closeQuietly(channel);
        }
    }

    /**
     * Takes the lock on {@code lockFile}. A run deletes the file before it releases the lock, so a competitor may
     * lock a file that no longer has a name: after locking, the run writes its token through the channel and reads it
     * back through the path, and tries again when the path names another file.
     */
    private static Locked lock(Path lockFile, String token, String shown) throws OutputException {
        for (int attempt = 0; attempt < 10; attempt++) {
            FileChannel channel = null;
            try {
                channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    closeQuietly(channel);
                    throw OutputException.busy(shown);
                }
                channel.truncate(0);
                channel.write(java.nio.ByteBuffer.wrap(token.getBytes(java.nio.charset.StandardCharsets.US_ASCII)), 0);
                channel.force(false);
                String named;
                try {
                    named = Files.readString(lockFile, java.nio.charset.StandardCharsets.US_ASCII);
                } catch (NoSuchFileException e) {
                    named = "";
                }
                if (named.equals(token)) {
                    return new Locked(channel, lock);
                }
                lock.release();
                closeQuietly(channel);
            } catch (OutputException e) {
                throw e;
            } catch (IOException e) {
                closeQuietly(channel);
                throw OutputException.unwritable(shown, e);
            }
        }
        throw OutputException.busy(shown);
    }

    /**
     * Writes the report into the temporary directory, then moves it into place, replacing an earlier convsim report
     * or an empty directory; anything else found there now is left alone and the run fails.
     */
    public Path commit(Writer writer) throws OutputException {
        try {
            writer.write(temp);
        } catch (IOException e) {
            throw OutputException.unwritable(shown, e);
        }
        try {
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                if (isEmptyDirectory(target)) {
                    Files.delete(target); // fails, deleting nothing, if something was put in it meanwhile
                } else if (marker(target).isPresent()) {
                    Path old = target.resolveSibling("." + target.getFileName() + ".old-"
                            + temp.getFileName().toString().replaceFirst(".*\\.tmp-", ""));
                    Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                    try {
                        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException e) {
                        Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
                        throw e;
                    }
                    deleteQuietly(old);
                    return target;
                } else {
                    throw OutputException.refused(shown, "it appeared while convsim was running and is not a convsim"
                            + " report; it was left as it is");
                }
            }
            // no REPLACE_EXISTING: a directory or file that appears now makes the move fail, and stays
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (DirectoryNotEmptyException | java.nio.file.FileAlreadyExistsException e) {
            throw OutputException.refused(shown, "something appeared there while convsim was running; it was left as"
                    + " it is");
        } catch (IOException e) {
            throw OutputException.unwritable(shown, e);
        }
    }

    public Path target() {
        return target;
    }

    /**
     * The temporary directory the report is assembled in, for writing parts of it early (figures of a module while the
     * next is analysed); {@link #commit} moves it into place, {@link #close} removes it if not committed.
     */
    public Path staging() {
        return temp;
    }

    @Override
    public void close() {
        deleteQuietly(temp);
        locked.release(lockFile);
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run
        }
    }

    /** The marker of a convsim output directory (command, format version...), if {@code dir} has a valid one. */
    public static Optional<JsonNode> marker(Path dir) {
        Path m = dir.resolve(MARKER);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !Files.isRegularFile(m, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            if (Files.size(m) > 4096) {
                return Optional.empty();
            }
            JsonNode node = JSON.readTree(m.toFile());
            return node != null && node.path("format").asText().equals("convsim-output")
                    && node.path("version").isInt() ? Optional.of(node) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static void writeMarker(Path dir, String command) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "convsim-output");
        m.put("version", FORMAT_VERSION);
        m.put("command", command);
        m.put("tool_version", Provenance.currentToolVersion());
        m.put("created", Instant.now().toString());
        m.put("pid", ProcessHandle.current().pid());
        JSON.writeValue(dir.resolve(MARKER).toFile(), m);
    }

    private static void refuseProtected(Path abs, String shown, List<Path> inputs) throws OutputException {
        Path real = realOrNormal(abs);
        Path cwd = realOrNormal(Path.of("").toAbsolutePath());
        Path home = realOrNormal(Path.of(System.getProperty("user.home")).toAbsolutePath());
        if (real.equals(cwd)) {
            throw OutputException.refused(shown, "it is the working directory; write the report into a new directory"
                    + " inside it (the default is ./convsim-report)");
        }
        if (real.equals(home)) {
            throw OutputException.refused(shown, "it is the home directory");
        }
        for (String vcs : List.of(".git", ".hg", ".svn")) {
            if (Files.exists(real.resolve(vcs), LinkOption.NOFOLLOW_LINKS)) {
                throw OutputException.refused(shown, "it is the root of a version-controlled tree (it holds " + vcs
                        + ")");
            }
        }
        for (Path in : inputs) {
            Path r = realOrNormal(in.toAbsolutePath().normalize());
            if (r.startsWith(real)) {
                throw OutputException.refused(shown, r.equals(real) ? "it is an input of this run"
                        : "it contains " + in + ", an input of this run");
            }
        }
    }

    private static void requireReplaceable(Path abs, String shown, String command, boolean force)
            throws OutputException {
        if (!Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            if (isEmptyDirectory(abs)) {
                return;
            }
        } catch (IOException e) {
            throw OutputException.unwritable(shown, e);
        }
        Optional<JsonNode> marker = marker(abs);
        if (marker.isEmpty()) {
            throw OutputException.refused(shown, (Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS)
                    ? "it is a directory that convsim did not write (it has no " + MARKER + " marker)"
                    : "it exists and is not a directory") + "; convsim replaces only its own reports, with or"
                    + " without --force: choose another --out, or move it away yourself");
        }
        String previous = marker.get().path("command").asText();
        if (!previous.equals(command) && !force) {
            throw OutputException.refused(shown, "it holds a report of `convsim " + previous + "`; use --force to"
                    + " replace it with this " + command + " report");
        }
    }

    /** Removes .NAME.tmp-PID-* and .NAME.old-PID-* of processes no longer alive, when they carry the marker. */
    private static void removeLeftovers(Path parent, String name) throws IOException {
        try (Stream<Path> s = Files.list(parent)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Matcher m = LEFTOVER.matcher(p.getFileName().toString());
                if (!m.matches() || !m.group(1).equals(name)) {
                    continue;
                }
                long pid = Long.parseLong(m.group(3));
                boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
                if (!alive && (marker(p).isPresent() || isEmptyDirectory(p))) {
                    deleteQuietly(p);
                }
            }
        }
    }

    private static Path realOrNormal(Path p) {
        // the real path of the longest existing ancestor, with the rest appended: symbolic links resolved
        Path existing = p;
        Path rest = null;
        while (existing != null && !Files.exists(existing)) {
            rest = rest == null ? existing.getFileName() : existing.getFileName().resolve(rest);
            existing = existing.getParent();
        }
        try {
            Path real = existing == null ? p : existing.toRealPath();
            return rest == null ? real : real.resolve(rest);
        } catch (IOException e) {
            return p;
        }
    }

    private static boolean isEmptyDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }

    private static void closeQuietly(FileChannel c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }

    /**
     * Removes the temporary directory from the shutdown hook. The JVM runs hooks beside the run's other threads, which
     * may still be writing into it (a module's figures): a file created after the deletion listed the directory kept
     * it, and killed runs left it behind. So it is moved aside first (a name of the same pattern, so that a later run
     * clears it should this fail), after which nothing new is created in it by name, and then deleted; a writer that
     * re-creates the directory meanwhile ({@code Files.createDirectories} of a subdirectory) is caught by the next
     * passes, until it has stayed absent for a few milliseconds.
     */
    static void discard(Path temp) {
        int absent = 0;
        for (int pass = 0; pass < 200 && absent < 3; pass++) {
            if (!Files.exists(temp, LinkOption.NOFOLLOW_LINKS)) {
                absent++;
            } else {
                absent = 0;
                Path aside = temp.resolveSibling(temp.getFileName() + Integer.toHexString(pass));
                try {
                    Files.move(temp, aside, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    aside = temp;
                }
                deleteQuietly(aside);
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                    // a concurrent writer; the next pass gets it
                } catch (IOException e) {
                    // best effort on cleanup
                }
            });
        } catch (IOException e) {
            // best effort on cleanup
        }
    }

    /**
     * The operating system's words for an I/O failure ("No space left on device", "permission denied"), looking
     * through wrappers such as ImageIO's "I/O error writing PNG file!".
     */
    static String reason(Throwable t) {
        Throwable deepest = t;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof FileSystemException fse) {
                String where = fse.getFile() == null ? "" : " (" + fse.getFile() + ")";
                if (fse.getReason() != null) {
                    return fse.getReason() + where;
                }
                if (c instanceof java.nio.file.AccessDeniedException) {
                    return "permission denied" + where;
                }
                if (c instanceof java.nio.file.NotDirectoryException) {
                    return "not a directory" + where;
                }
                if (c instanceof NoSuchFileException) {
                    return "no such file or directory" + where;
                }
                if (c instanceof java.nio.file.FileAlreadyExistsException) {
                    return "a file is in the way" + where;
                }
            }
            deepest = c;
        }
        String m = deepest.getMessage();
        return m == null ? deepest.getClass().getSimpleName() : m;
    }
}
