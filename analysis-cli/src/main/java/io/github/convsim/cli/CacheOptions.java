package io.github.convsim.cli;

import io.github.convsim.cache.BaseCache;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** --no-cache and --cache-dir, shared by the commands that factor W0: where the W0 cache is, or that there is none. */
final class CacheOptions {
    @Option(names = "--no-cache",
            description = "Neither read nor write the W0 cache. By default what depends on the base alone (every"
                    + " layer's LU factors and cond(W0); for analyze also each module's W0 null and planted controls)"
                    + " is kept in $CONVSIM_CACHE_DIR, else $XDG_CACHE_HOME/convsim, else ~/.cache/convsim, capped at"
                    + " $CONVSIM_CACHE_MAX_BYTES (default 4 GiB, least recently used first), so that analyze and"
                    + " compare runs on the same base skip every factorisation after the first, with the same numbers"
                    + " bit for bit. CONVSIM_CACHE=off switches it off as well.")
    boolean noCache;

    @Option(names = "--cache-dir", paramLabel = "DIR",
            description = "Keep the W0 cache in DIR instead (used even where CONVSIM_CACHE=off; not with --no-cache).")
    Path cacheDir;

    /** Refuses --no-cache with --cache-dir, before any work. */
    void check(CommandSpec spec) {
        if (noCache && cacheDir != null) {
            throw new ParameterException(spec.commandLine(), "--no-cache and --cache-dir contradict each other: give one");
        }
    }

    /** The cache the options name, or null for none. */
    BaseCache open() throws InputException {
        return noCache ? null : Locations.cache(cacheDir);
    }

    /** A damaged entry is a warning even with --quiet: the run recomputed it. */
    static void printNotes(BaseCache cache, PrintWriter err) {
        if (cache != null) {
            cache.notes().forEach(n -> err.println("convsim: note: " + n));
        }
    }
}
