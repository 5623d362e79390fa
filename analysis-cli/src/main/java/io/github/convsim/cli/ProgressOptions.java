package io.github.convsim.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** --progress and --quiet, shared by the long-running commands. */
final class ProgressOptions {
    @Option(names = "--progress", description = "Show progress bars even when stderr is not a terminal.")
    boolean progress;

    @Option(names = {"-q", "--quiet"}, description = "Print nothing but errors.")
    boolean quiet;

    Progress open(PrintWriter err) {
        boolean show = !quiet && (progress || System.console() != null);
        return show ? new Progress.Bars() : new Progress.Silent();
    }
}
