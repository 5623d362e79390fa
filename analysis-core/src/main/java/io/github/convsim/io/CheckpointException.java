package io.github.convsim.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An input that convsim cannot use: unreadable, malformed, or not what an analysis needs. The message is one line
 * that starts with the file it concerns.
 */
public class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;

    public CheckpointException(Path file, String reason) {
        super((file == null ? "" : file + ": ") + reason);
        this.file = file;
    }

    public CheckpointException(Path file, String reason, Throwable cause) {
        super((file == null ? "" : file + ": ") + reason, cause);
        this.file = file;
    }

    /** The file concerned, or null where no single file is to blame. */
    public Path file() {
        return file;
    }
}
