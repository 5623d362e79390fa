package io.github.convsim.io;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * What kind of file an input path is, found without opening it: opening a FIFO blocks until a writer comes (forever,
 * as a base or an adapter_config.json), a device can be endless, and a symbolic link loop is not a missing file.
 */
public final class InputFiles {
    private InputFiles() {}

    /**
     * Whether {@code path} names anything, a dangling or looping symbolic link included, so that a candidate which is
     * there but broken is opened (and its fault named) rather than passed over as missing.
     */
    public static boolean present(Path path) {
        return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Checks that {@code path} (links followed) is a regular file.
     *
     * @throws CheckpointException naming the path and what it is instead: missing, a symbolic link loop, a directory,
     *     a FIFO, a socket or a device
     */
    public static void requireRegularFile(Path path) throws CheckpointException {
        BasicFileAttributes a = attributes(path);
        if (a.isRegularFile()) {
            return;
        }
        throw new CheckpointException(path, "not a regular file (it is " + kind(path, a) + ")");
    }

    /** Checks that {@code path} exists, naming a symbolic link loop as such; returns its attributes. */
    public static BasicFileAttributes attributes(Path path) throws CheckpointException {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(path, Files.isSymbolicLink(path) ? "a symbolic link to a file that does not"
                    + " exist" : "no such file or directory");
        } catch (FileSystemException e) {
            String reason = e.getReason() == null ? "" : e.getReason();
            throw new CheckpointException(path, reason.toLowerCase(java.util.Locale.ROOT).contains("symbolic links")
                    ? "a loop of symbolic links" : "cannot read: " + (reason.isEmpty() ? e.getMessage() : reason));
        } catch (IOException e) {
            throw new CheckpointException(path, "cannot read: " + e.getMessage());
        }
    }

    private static String kind(Path path, BasicFileAttributes a) {
        if (a.isDirectory()) {
            return "a directory";
        }
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return switch (mode & 0170000) {
                case 0010000 -> "a FIFO";
                case 0140000 -> "a socket";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                default -> "not a file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "a device, FIFO or socket";
        }
    }
}
