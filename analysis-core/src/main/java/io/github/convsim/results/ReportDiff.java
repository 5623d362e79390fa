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
 * What differs between two reports of one convsim command (their summary.json and the CSV files beside it): the
 * provenance (inputs, options, versions, arithmetic), the verdicts, every number, and anything else. Entries of a list
 * and rows of a CSV are matched by what they are (module, matrix, side, i and j, layers; a pair's adapters; a test's
 * statistic; an input's role), not by position, so that reports listing them in another order still compare. What
 * differs between two runs of the same analysis by nature (when it ran, how long it took, the memory it used) is left
 * out.
 *
 * <pre>{@code
 * ReportDiff d = ReportDiff.of(Path.of("run-cpu"), Path.of("run-gpu"));
 * d.verdicts();              // maps whose verdict changed: empty where both runs conclude the same
 * d.largestNumberChange();   // the number that moved most, relatively
 * }</pre>
 *
 * @param tool             the command both reports come from ("convsim" for analyze)
 * @param provenance       differences under "provenance" (inputs, options, versions, backend)
 * @param verdicts         differences of a verdict ("exceeds_w0_null", "beyond_both_nulls") or of whether the
 *                         null's draws decide it ("decided_by_draws")
 * @param numbers          finite numbers that are not equal, beside their relative difference
 * @param other            any other difference: statuses, notes, entries present in one report only, a number against
 *                         a NaN or an infinity (a CSV cell), which has no relative difference
 * @param numbersCompared  how many numbers were compared outside the provenance, the CSV files' included
 * @param sentences        sentences (interpretations, verdict texts) that differ; they follow from the numbers
 */
public record ReportDiff(String tool, List<Difference> provenance, List<Difference> verdicts,
                         List<Difference> numbers, List<Difference> other, int numbersCompared, int sentences) {
    /** Keys whose values are verdicts, or whether the null's draws decide them. */
    private static final Set<String> VERDICT_KEYS = Set.of("exceeds_w0_null", "beyond_both_nulls",
            "decided_by_draws");
    /** Keys whose values are sentences written from the numbers. */
    private static final Set<String> SENTENCE_KEYS = Set.of("interpretation", "verdict", "text");
    /** Values that differ between two runs of one analysis by nature. */
    private static final Set<String> VOLATILE = Set.of("provenance.created", "provenance.timings_seconds",
            "provenance.resources", "provenance.arithmetic.self_check.milliseconds");
    /** Keys that say what an entry of a list is, in the order a label names them. */
    private static final List<String> LABEL_KEYS = List.of("module", "subject", "factor", "side", "statistic",
            "adapter_a", "adapter_b", "role", "i", "j");
    /** Columns of the reports' CSV files that say what a row is. */
    private static final Set<String> KEY_COLUMNS = Set.of("module", "factor", "side", "statistic", "adapter_a",
            "adapter_b", "i", "j", "layer", "layer_a", "layer_b", "step", "step_a", "step_b");
    /** Key columns whose values are numbers, named in a row's label ("layer_a=0"). */
    private static final Set<String> NAMED_KEYS = Set.of("i", "j", "layer", "layer_a", "layer_b", "step", "step_a",
            "step_b");
    /** CSV columns that repeat what summary.json holds: the adapter's name and the verdicts. */
    private static final Set<String> SKIPPED_COLUMNS = Set.of("adapter", "exceeds_w0_null", "pair_exceeds_w0_null");

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
        Path dirA = fileA.toAbsolutePath().getParent();
        Path dirB = fileB.toAbsolutePath().getParent();
        for (String csv : csvNames(dirA, dirB)) {
            w.compareTables(csv, table(dirA.resolve(csv)), table(dirB.resolve(csv)));
        }
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

    /** The CSV files beside either summary.json, by name. */
    private static Set<String> csvNames(Path dirA, Path dirB) throws CheckpointException {
        Set<String> names = new java.util.TreeSet<>();
        for (Path dir : List.of(dirA, dirB)) {
            try (var files = Files.list(dir)) {
                files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".csv")).forEach(names::add);
            } catch (java.io.IOException e) {
                throw new CheckpointException(dir, "cannot list: " + e.getMessage());
            }
        }
        return names;
    }

    /** A report's CSV as text cells, header first; null where the report has no such file. */
    private static List<String[]> table(Path csv) throws CheckpointException {
        if (!Files.exists(csv)) {
            return null;
        }
        try (var reader = Files.newBufferedReader(csv)) {
            com.univocity.parsers.csv.CsvParserSettings settings = new com.univocity.parsers.csv.CsvParserSettings();
            settings.setNullValue("");
            settings.setMaxColumns(4096);
            return new com.univocity.parsers.csv.CsvParser(settings).parseAll(reader);
        } catch (java.io.IOException | RuntimeException e) {
            throw new CheckpointException(csv, "cannot read as CSV: " + e.getMessage());
        }
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
            if (VOLATILE.contains(path) || (a == null && b == null)) {
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
            } else if (a != null && b != null && a.isNumber() && b.isNumber() && Double.isFinite(a.asDouble())
                    && Double.isFinite(b.asDouble())) {
                numbers.add(d);
            } else {
                other.add(d);
            }
        }

        /**
         * Compares two CSV files of the reports row by row, rows matched by their key columns ({@link #KEY_COLUMNS}),
         * every other cell as a number where it is one. The adapter's name and the verdict columns repeat what
         * summary.json holds, and are compared there.
         */
        void compareTables(String name, List<String[]> a, List<String[]> b) {
            if (a == null || b == null || a.isEmpty() || b.isEmpty()) {
                if (a != b) {
                    other.add(new Difference(name, present(a), present(b)));
                }
                return;
            }
            Map<String, Map<String, String>> rowsA = rows(a);
            Map<String, Map<String, String>> rowsB = rows(b);
            Set<String> keys = new LinkedHashSet<>(rowsA.keySet());
            keys.addAll(rowsB.keySet());
            for (String key : keys) {
                Map<String, String> ra = rowsA.get(key);
                Map<String, String> rb = rowsB.get(key);
                String path = name + "[" + key + "]";
                if (ra == null || rb == null) {
                    other.add(new Difference(path, ra == null ? null : PRESENT, rb == null ? null : PRESENT));
                    continue;
                }
                Set<String> columns = new LinkedHashSet<>(ra.keySet());
                columns.addAll(rb.keySet());
                for (String c : columns) {
                    compare(path + "." + c, cell(ra.get(c)), cell(rb.get(c)));
                }
            }
        }

        private static final JsonNode PRESENT = com.fasterxml.jackson.databind.node.TextNode.valueOf("(present)");

        private static JsonNode present(List<String[]> table) {
            return table == null ? null : PRESENT;
        }

        /** A cell as a number where it reads as one, else as text; an empty cell as absent. */
        private static JsonNode cell(String v) {
            if (v == null || v.isEmpty()) {
                return null;
            }
            try {
                return com.fasterxml.jackson.databind.node.DoubleNode.valueOf(Double.parseDouble(v));
            } catch (NumberFormatException e) {
                return com.fasterxml.jackson.databind.node.TextNode.valueOf(v);
            }
        }

        /** The rows of a CSV by their key, each as its compared columns. */
        private static Map<String, Map<String, String>> rows(List<String[]> table) {
            String[] header = table.get(0);
            Map<String, Map<String, String>> out = new LinkedHashMap<>();
            Map<String, Integer> seen = new LinkedHashMap<>();
            for (String[] row : table.subList(1, table.size())) {
                List<String> parts = new ArrayList<>();
                Map<String, String> values = new LinkedHashMap<>();
                for (int c = 0; c < header.length; c++) {
                    String v = c < row.length && row[c] != null ? row[c] : "";
                    if (KEY_COLUMNS.contains(header[c])) {
                        if (!v.isEmpty()) {
                            parts.add(NAMED_KEYS.contains(header[c]) ? header[c] + "=" + v : v);
                        }
                    } else if (!SKIPPED_COLUMNS.contains(header[c])) {
                        values.put(header[c], v);
                    }
                }
                String label = String.join(" ", parts);
                int n = seen.merge(label, 1, Integer::sum);
                out.put(n == 1 ? label : label + " #" + n, values);
            }
            return out;
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
