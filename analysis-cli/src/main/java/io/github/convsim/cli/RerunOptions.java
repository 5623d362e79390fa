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
     * Refuses inputs given beside --from, and every option but those and {@code alsoAllowed}.
     *
     * @param inputs what the command's positional parameters are, in the message ("the adapter", "the adapters")
     */
    static void refuseOthers(CommandSpec spec, String inputs, Set<String> alsoAllowed) {
        if (!spec.commandLine().getParseResult().matchedPositionals().isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--from reruns " + inputs + " the report recorded;"
                    + " leave ADAPTER_DIR out");
        }
        Set<String> allowed = new HashSet<>(WITH_FROM);
        allowed.addAll(alsoAllowed);
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            if (!allowed.contains(o.longestName())) {
                throw new ParameterException(spec.commandLine(), "--from reruns the options the report recorded; "
                        + o.longestName() + " cannot be given with it");
            }
        }
    }
}
