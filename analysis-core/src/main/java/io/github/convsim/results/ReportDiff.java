package io.github.convsim.results;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.convsim.io.CheckpointException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What differs between two reports of one convsim command (their summary.json): the provenance (inputs, options,
 * versions, arithmetic), the verdicts, every number, and anything else. Entries of a list are matched by what they are
 * (module, matrix, side, i and j; a pair's adapters; a test's statistic; an input's role), not by position, so that
 * reports listing them in another order still compare. What differs between two runs of the same analysis by nature
 * (when it ran, how long it took, the memory it used) is left out.
 *
 * <pre>{@code
 * ReportDiff d = ReportDiff.of(Path.of("run-cpu"), Path.of("run-gpu"));
 * d.verdicts();              // maps whose verdict changed: empty where both runs conclude the same
 * d.largestNumberChange();   // the number that moved most, relatively
 * }</pre>
 *
 * @param tool             the command both reports come from ("convsim" for analyze)
 * @param provenance       differences under "provenance" (inputs, options, versions, backend)
 * @param verdicts         differences of a verdict ("exceeds_w0_null", "beyond_both_nulls")
 * @param numbers          numbers that are not equal, beside their relative difference
 * @param other            any other difference: statuses, notes, entries present in one report only
 * @param numbersCompared  how many numbers were compared outside the provenance
 * @param sentences        sentences (interpretations, verdict texts) that differ; they follow from the numbers
 */
public record ReportDiff(String tool, List<Difference> provenance, List<Difference> verdicts,
                         List<Difference> numbers, List<Difference> other, int numbersCompared, int sentences) {
    /** Keys whose values are verdicts. */
    private static final Set<String> VERDICT_KEYS = Set.of("exceeds_w0_null", "beyond_both_nulls");
    /** Keys whose values are sentences written from the numbers. */
    private static final Set<String> SENTENCE_KEYS = Set.of("interpretation", "verdict", "text");
    /** Values that differ between two runs of one analysis by nature. */
    private static final Set<String> VOLATILE = Set.of("provenance.created", "provenance.timings_seconds",
            "provenance.resources", "provenance.arithmetic.self_check.milliseconds");
    /** Keys that say what an entry of a list is, in the order a label names them. */
    private static final List<String> LABEL_KEYS = List.of("module", "subject", "factor", "side", "statistic",
            "adapter_a", "adapter_b", "role", "i", "j");

    /**
     * One value that differs: where, and its value in each report (null where absent).
     *
     * @param path where in summary.json, list entries named by what they are: "heatmaps[query C_A left i=8 j=8].w0.mean"
     */
    public record Difference(String path, JsonNode a, JsonNode b) {
        /** |a - b| / max(|a|, |b|) for two numbers (0 where both are 0); NaN otherwise. */
        public double relative() {
            if (a == null || b == null || !a.isNumber() || !b.isNumber()) {
                return Double.NaN;
            }
            double x = a.asDouble();
            double y = b.asDouble();
            double scale = Math.max(Math.abs(x), Math.abs(y));
            return scale == 0 ? 0 : Math.abs(x - y) / scale;
        }
    }

    /**
     * Compares two reports, each given as its directory or its summary.json.
     *
     * @throws CheckpointException naming the file that cannot be read, or the second where the reports are of two
     *     commands
     */
    public static ReportDiff of(Path reportA, Path reportB) throws CheckpointException {
        Path fileA = summaryOf(reportA);
        Path fileB = summaryOf(reportB);
        JsonNode a = RecordedSummary.json(fileA);
        JsonNode b = RecordedSummary.json(fileB);
        String toolA = toolOf(fileA, a);
        String toolB = toolOf(fileB, b);
        if (!toolA.equals(toolB)) {
            throw new CheckpointException(fileB, "a report of `" + command(toolB) + "`, and " + fileA + " one of `"
                    + command(toolA) + "`: diff compares two reports of one command");
        }
        Walk w = new Walk();
        w.compare("", a, b);
        w.numbers.sort(Comparator.comparingDouble(Difference::relative).reversed());
        return new ReportDiff(toolA, List.copyOf(w.provenance), List.copyOf(w.verdicts), List.copyOf(w.numbers),
                List.copyOf(w.other), w.numbersCompared, w.sentences);
    }

    /** The command as a user types it ("convsim analyze" for the tool "convsim"). */
    public static String command(String tool) {
        return tool.equals("convsim") ? "convsim analyze" : tool;
    }

    /** The number that differs most, relatively; null where every number is equal. */
    public Difference largestNumberChange() {
        return numbers.isEmpty() ? null : numbers.get(0);
    }

    /** The numbers whose relative difference exceeds {@code tolerance}, the largest first. */
    public List<Difference> numbersBeyond(double tolerance) {
        return numbers.stream().filter(d -> d.relative() > tolerance).toList();
    }

    private static Path summaryOf(Path report) {
        return Files.isDirectory(report) ? report.resolve("summary.json") : report;
    }

    private static String toolOf(Path file, JsonNode root) throws CheckpointException {
        String tool = root.path("provenance").path("tool").asText("");
        if (!tool.startsWith("convsim")) {
            throw new CheckpointException(file, "not the summary.json of a convsim report (its provenance names no"
                    + " convsim command)");
        }
        return tool;
    }

    /** One pass over both trees, sorting each difference into its kind. */
    private static final class Walk {
        final List<Difference> provenance = new ArrayList<>();
        final List<Difference> verdicts = new ArrayList<>();
        final List<Difference> numbers = new ArrayList<>();
        final List<Difference> other = new ArrayList<>();
        int numbersCompared;
        int sentences;

        void compare(String path, JsonNode a, JsonNode b) {
            if (VOLATILE.contains(path)) {
                return;
            }
            boolean inProvenance = path.equals("provenance") || path.startsWith("provenance.");
            if (a != null && b != null && a.isObject() && b.isObject()) {
                Set<String> keys = new LinkedHashSet<>();
                a.fieldNames().forEachRemaining(keys::add);
                b.fieldNames().forEachRemaining(keys::add);
                for (String k : keys) {
                    compare(path.isEmpty() ? k : path + "." + k, a.get(k), b.get(k));
                }
                return;
            }
            if (a != null && b != null && a.isArray() && b.isArray()) {
                Map<String, JsonNode> byLabelA = entries(a);
                Map<String, JsonNode> byLabelB = entries(b);
                if (byLabelA != null && byLabelB != null) {
                    Set<String> labels = new LinkedHashSet<>(byLabelA.keySet());
                    labels.addAll(byLabelB.keySet());
                    for (String l : labels) {
                        compare(path + "[" + l + "]", byLabelA.get(l), byLabelB.get(l));
                    }
                    return;
                }
                if (a.size() == b.size()) {
                    for (int k = 0; k < a.size(); k++) {
                        compare(path + "[" + k + "]", a.get(k), b.get(k));
                    }
                    return;
                }
            }
            if (!inProvenance && a != null && b != null && a.isNumber() && b.isNumber()) {
                numbersCompared++;
            }
            if (a != null && a.equals(b)) {
                return;
            }
            if (a != null && b != null && a.isNumber() && b.isNumber() && a.asDouble() == b.asDouble()) {
                return; // 1 and 1.0
            }
            Difference d = new Difference(path, a, b);
            String key = path.substring(path.lastIndexOf('.') + 1);
            if (inProvenance) {
                provenance.add(d);
            } else if (VERDICT_KEYS.contains(key)) {
                verdicts.add(d);
            } else if (SENTENCE_KEYS.contains(key)) {
                sentences++;
            } else if (a != null && b != null && a.isNumber() && b.isNumber()) {
                numbers.add(d);
            } else {
                other.add(d);
            }
        }

        /** A list of objects by what each entry is; null for a list of anything else, or entries with no label. */
        private static Map<String, JsonNode> entries(JsonNode list) {
            Map<String, JsonNode> out = new LinkedHashMap<>();
            Map<String, Integer> seen = new LinkedHashMap<>();
            for (JsonNode e : list) {
                if (!e.isObject()) {
                    return null;
                }
                List<String> parts = new ArrayList<>();
                for (String k : LABEL_KEYS) {
                    JsonNode v = e.get(k);
                    if (v != null && !v.isNull() && !(k.equals("factor") && e.has("subject"))) {
                        parts.add(k.equals("i") || k.equals("j") ? k + "=" + v.asText() : v.asText());
                    }
                }
                if (parts.isEmpty()) {
                    return null;
                }
                String label = String.join(" ", parts);
                int n = seen.merge(label, 1, Integer::sum);
                out.put(n == 1 ? label : label + " #" + n, e);
            }
            return out;
        }
    }
}
