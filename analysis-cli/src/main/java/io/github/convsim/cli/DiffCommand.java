package io.github.convsim.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.convsim.results.ReportDiff;
import io.github.convsim.results.ReportDiff.Difference;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "diff", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Say what differs between two reports of one command (analyze, compare or condlora fit): inputs, "
            + "options and versions, verdicts, numbers.",
            "It lists what differs in the provenance (inputs, options, versions, arithmetic), the verdicts that "
            + "changed, the largest relative difference of any number and every number beyond --tolerance, and "
            + "anything else, in summary.json and the CSV files. Entries and rows are matched by what they are "
            + "(module, matrix, side, i, j, layers; pairs by their adapters), not by position. When each ran, how "
            + "long it took and the memory it used are left out.",
            "Writes nothing; exit code 0 whatever differs, unless --check is given."},
        footer = {"", "Examples:",
            "  # a rerun: is every number the same?",
            "  convsim diff convsim-report report-again",
            "  # two backends: how far apart, and did any verdict change?",
            "  convsim diff report-cpu/summary.json report-gpu --tolerance 1e-6",
            "  # in a script: exit code 6 unless they agree to 1e-9",
            "  convsim diff --check report-before report-after"})
final class DiffCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "REPORT_A", description = "A report directory, or its summary.json (the CSV"
            + " files beside it are compared too).")
    Path a;

    @Parameters(index = "1", paramLabel = "REPORT_B", description = "The report to compare it with.")
    Path b;

    @Option(names = "--tolerance", paramLabel = "REL", defaultValue = "1e-9",
            description = "Relative difference |a - b| / max(|a|, |b|) beyond which every number is listed"
                    + " (default: ${DEFAULT-VALUE}; 0 lists every number that is not equal).")
    double tolerance;

    @Option(names = "--check", description = "Exit with code 6 where a verdict differs, a number differs beyond"
            + " --tolerance, or one report holds what the other lacks (the provenance may differ: another machine,"
            + " path or backend), so that a script can rely on it.")
    boolean check;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "10",
            description = "Most lines of each kind of difference (default: ${DEFAULT-VALUE}; 0 for all).")
    int limit;

    @Override
    public Integer call() throws Exception {
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--tolerance must be a finite"
                    + " non-negative number, got " + tolerance);
        }
        if (limit < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--limit must be 0 or more, got "
                    + limit);
        }
        ReportDiff d = ReportDiff.of(a, b);
        PrintWriter o = spec.commandLine().getOut();
        o.printf(Locale.ROOT, "convsim diff: %s against %s (both `%s`)%n", a, b, ReportDiff.command(d.tool()));
        section(o, "provenance", d.provenance(), "the same inputs, options, versions and arithmetic");
        section(o, "verdicts", d.verdicts(), "none changed");
        List<Difference> beyond = d.numbersBeyond(tolerance);
        Difference largest = d.largestNumberChange();
        if (largest == null) {
            o.printf(Locale.ROOT, "numbers: %d compared, every one equal%n", d.numbersCompared());
        } else {
            o.printf(Locale.ROOT, "numbers: %d compared, %d not equal, the largest relative difference %.2e (%s);"
                    + " %d beyond %.2g%s%n", d.numbersCompared(), d.numbers().size(), largest.relative(),
                    largest.path(), beyond.size(), tolerance, beyond.isEmpty() ? "" : ":");
            lines(o, beyond, true);
        }
        section(o, "other", d.other(), "nothing else differs");
        if (d.sentences() > 0) {
            o.printf(Locale.ROOT, "sentences: %d differ%s (written from the numbers above)%n", d.sentences(),
                    d.sentences() == 1 ? "s" : "");
        }
        if (!check) {
            return 0;
        }
        boolean agree = d.verdicts().isEmpty() && beyond.isEmpty() && d.other().isEmpty();
        o.printf(Locale.ROOT, "check: %s%n", agree ? "the reports agree (verdicts, numbers within the tolerance, and"
                + " what they hold)" : "the reports differ (exit code " + Main.EXIT_DIFFERENT + ")");
        return agree ? 0 : Main.EXIT_DIFFERENT;
    }

    private void section(PrintWriter o, String name, List<Difference> ds, String none) {
        if (ds.isEmpty()) {
            o.printf(Locale.ROOT, "%s: %s%n", name, none);
            return;
        }
        o.printf(Locale.ROOT, "%s: %d differ%s:%n", name, ds.size(), ds.size() == 1 ? "s" : "");
        lines(o, ds, false);
    }

    private void lines(PrintWriter o, List<Difference> ds, boolean relative) {
        int shown = limit == 0 ? ds.size() : Math.min(limit, ds.size());
        for (Difference d : ds.subList(0, shown)) {
            o.printf(Locale.ROOT, "  %s: %s -> %s%s%n", d.path().replaceFirst("^provenance\\.", ""), value(d.a()),
                    value(d.b()), relative ? String.format(Locale.ROOT, " (%.2e)", d.relative()) : "");
        }
        if (shown < ds.size()) {
            o.printf(Locale.ROOT, "  ... and %d more (--limit 0 lists all)%n", ds.size() - shown);
        }
    }

    /** A value as one short line: text unquoted, an entry by its presence, a long list by its size, else JSON. */
    private static String value(JsonNode v) {
        if (v == null) {
            return "(absent)";
        }
        if (v.isObject()) {
            return "(present)";
        }
        if (v.isArray() && v.toString().length() > 80) {
            return "(a list of " + v.size() + ")";
        }
        return v.isTextual() ? v.asText() : v.toString();
    }
}
