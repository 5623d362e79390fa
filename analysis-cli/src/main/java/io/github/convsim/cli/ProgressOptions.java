package io.github.convsim.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** --progress and --quiet, shared by the long-running commands. */
final class ProgressOptions {
    @Option(names = "--progress", description = "Show progress bars even when stderr is not a terminal (otherwise a"
            + " line per phase every few seconds).")
    boolean progress;

    @Option(names = {"-q", "--quiet"}, description = "Print nothing but errors.")
    boolean quiet;

    Progress open(PrintWriter err) {
        if (quiet) {
            return new Progress.Silent();
        }
        return progress || System.console() != null ? new Progress.Bars() : new Progress.Lines(err);
    }
}
