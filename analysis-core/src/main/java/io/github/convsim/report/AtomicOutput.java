package io.github.convsim.report;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Makes a report directory appear all at once: everything is written into a temporary sibling, then renamed into
 * place. A failure or an interruption (Ctrl-C runs the shutdown hook) removes the temporary directory and leaves any
 * existing output untouched.
 */
public final class AtomicOutput implements AutoCloseable {
    /** Writes into a directory. */
    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    private final Path target;
    private final Path temp;
    private final Thread cleanup;

    /** Registers the clean-up before the directory exists, so no interruption can leave it behind. */
    private AtomicOutput(Path target, Path temp) throws IOException {
        this.target = target;
        this.temp = temp;
        this.cleanup = new Thread(() -> deleteQuietly(temp), "convsim-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            Files.createDirectory(temp);
        } catch (IOException e) {
            Runtime.getRuntime().removeShutdownHook(cleanup);
            throw e;
        }
    }

    /**
     * Checks the destination and creates the temporary directory beside it.
     *
     * @throws FileAlreadyExistsException if {@code target} is a non-empty directory (or a file) and {@code force}
     *     is false
     */
    public static AtomicOutput prepare(Path target, boolean force) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.exists(abs) && !force && !isEmptyDirectory(abs)) {
            throw new FileAlreadyExistsException(abs.toString(), null,
                    "output exists and is not empty; use --force to replace it");
        }
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        String unique = ProcessHandle.current().pid() + "-" + Long.toHexString(new java.security.SecureRandom().nextLong());
        return new AtomicOutput(abs, parent.resolve("." + abs.getFileName() + ".tmp-" + unique));
    }

    /** Writes the report into the temporary directory, then moves it into place (replacing the old one). */
    public Path commit(Writer writer) throws IOException {
        writer.write(temp);
        if (Files.exists(target)) {
            Path old = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".old-");
            Files.delete(old);
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
                throw e;
            }
            deleteQuietly(old);
        } else {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        }
        return target;
    }

    public Path target() {
        return target;
    }

    @Override
    public void close() {
        deleteQuietly(temp);
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run
        }
    }

    private static boolean isEmptyDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p)) {
            return false;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (DirectoryNotEmptyException e) {
                    // a concurrent writer; the next pass gets it
                } catch (IOException e) {
                    // best effort on cleanup
                }
            });
        } catch (IOException e) {
            // best effort on cleanup
        }
    }
}
