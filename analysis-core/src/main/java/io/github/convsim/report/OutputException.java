package io.github.convsim.report;

import java.io.IOException;

/**
 * The output cannot be written where the user asked: the destination may not be replaced, is being written by
 * another run, or the operating system refused (permission denied, read-only, no space left). One line naming the
 * path the user gave and the reason; the CLI exits with code 4.
 */
public final class OutputException extends IOException {
    private OutputException(String message, Throwable cause) {
        super(message, cause);
    }

    static OutputException refused(String shown, String why) {
        return new OutputException("cannot write to " + shown + ": " + why, null);
    }

    static OutputException busy(String shown) {
        return new OutputException("cannot write to " + shown + ": another convsim run is writing there now; wait for"
                + " it or choose another --out", null);
    }

    static OutputException unwritable(String shown, Throwable cause) {
        if (cause instanceof OutputException o) {
            return o;
        }
        return new OutputException("cannot write to " + shown + ": " + AtomicOutput.reason(cause), cause);
    }
}
