package io.github.convsim.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A temporary file convsim needs while it works (the W0 null's bases, spilled to disk at 7B shapes) cannot be created
 * or written: the temporary directory is full, read-only or missing. Neither a defect nor a fault of the input: the
 * same run succeeds with room there, or with another directory. The CLI exits with code 5, as for memory.
 */
public final class ScratchSpaceException extends UncheckedIOException {
    /** {@code what} (e.g. "cannot write the W0 null's bases to") {@code where}, and the system's reason. */
    public ScratchSpaceException(String what, Path where, IOException cause) {
        super(what + " " + where + ": " + reason(cause) + "; make room there, or give convsim another directory for"
                + " temporary files: CONVSIM_JAVA_OPTS=-Djava.io.tmpdir=DIR", cause);
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
