package io.github.convsim.cli;

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

    /**
     * Refuses every option but those and {@code alsoAllowed} (the command's own, such as --scale, and those that name
     * inputs: an adapter or base given beside --from is read in place of the recorded one, if its files are those the
     * report read).
     */
    static void refuseOthers(CommandSpec spec, Set<String> alsoAllowed) {
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
