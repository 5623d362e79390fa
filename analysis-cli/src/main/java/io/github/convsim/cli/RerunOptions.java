package io.github.convsim.cli;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.results.RecordedInputs;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/** What may accompany --from: options that change where and how a report is written, never its numbers. */
final class RerunOptions {
    private static final Set<String> WITH_FROM = Set.of("--from", "--out", "--force", "--format", "--quiet",
            "--progress", "--debug", "--no-cache", "--cache-dir");

    private RerunOptions() {}

    /** How a command reads its own reports' summary.json ({@code ReportedRun::read} and the like). */
    interface Reader<R extends RecordedInputs> {
        R read(Path summaryJson) throws CheckpointException;
    }

    /**
     * The report --from names, after refusing every option but those that may accompany it, {@code alsoAllowed} and
     * {@code movable}; its inputs verified unchanged where they were, unless inputs are given beside it ({@link
     * #inputsGiven}), which the command verifies once it has opened them.
     */
    static <R extends RecordedInputs> R read(CommandSpec spec, Path from, Reader<R> reader, Set<String> alsoAllowed,
                                             Set<String> movable) throws CheckpointException {
        Set<String> allowed = new HashSet<>(alsoAllowed);
        allowed.addAll(movable);
        refuseOthers(spec, allowed);
        R run = reader.read(from);
        if (!inputsGiven(spec, movable)) {
            run.verifyInputs();
        }
        return run;
    }

    /**
     * Refuses every option but those and {@code alsoAllowed} (the command's own, such as --scale, and those that name
     * inputs: an adapter or base given beside --from is read in place of the recorded one, if its files are those the
     * report read).
     */
    private static void refuseOthers(CommandSpec spec, Set<String> alsoAllowed) {
        Set<String> allowed = new HashSet<>(WITH_FROM);
        allowed.addAll(alsoAllowed);
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            if (!allowed.contains(o.longestName())) {
                throw new ParameterException(spec.commandLine(), "--from reruns the options the report recorded; "
                        + o.longestName() + " cannot be given with it");
            }
        }
    }

    /** Whether inputs are given beside --from: positional adapters, or one of {@code options} (--adapter, --base). */
    static boolean inputsGiven(CommandSpec spec, Set<String> options) {
        var parsed = spec.commandLine().getParseResult();
        return !parsed.matchedPositionals().isEmpty() || options.stream().anyMatch(parsed::hasMatchedOption);
    }
}
