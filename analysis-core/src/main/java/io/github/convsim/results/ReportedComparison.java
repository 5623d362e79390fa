package io.github.convsim.results;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.similarity.MultipleTesting.Correction;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A comparison as its report recorded it ({@code summary.json} of {@code convsim compare}): the adapters in the order
 * compared (a run's checkpoints as they were found then), the base and how it was checked, the options, the
 * correction, and the input files with their hashes; enough to run it again exactly.
 *
 * <pre>{@code
 * ReportedComparison run = ReportedComparison.read(Path.of("convsim-compare/summary.json"));
 * run.verifyInputs(); // the same bytes, or a CheckpointException naming the file that changed
 * ComparisonResult again = Comparison.run(run.adapters(), run.base(), run.baseCheck(), run.options(), backend, NONE);
 * }</pre>
 */
public record ReportedComparison(List<Path> adapters, Path base, BaseMatch.BaseCheck baseCheck, AnalysisOptions options,
                                 Correction correction, List<Provenance.InputFile> inputs) implements RecordedInputs {
    /** Keys and values of compare's provenance options that analyze's ({@link AnalysisOptions#toMap()}) lack. */
    public static final String ADAPTERS = "adapters";
    public static final String BASE = RecordedSummary.BASE;
    public static final String BASE_CHECK = RecordedSummary.BASE_CHECK;
    /** i or j given as the smallest rank of the adapters (analyze's "r"). */
    public static final String SMALLEST_RANK = "smallest rank";
    /** Every module the adapters share (analyze's "all"). */
    public static final String ALL_COMMON = "all common";

    /**
     * Reads a comparison report's summary.json.
     *
     * @throws CheckpointException naming the file when it is not a report of convsim compare or lacks what a rerun
     *     needs
     */
    public static ReportedComparison read(Path summaryJson) throws CheckpointException {
        RecordedSummary s = RecordedSummary.read(summaryJson, "convsim compare", "compare");
        if (!(s.options().get(ADAPTERS) instanceof List<?> adapters)
                || !adapters.stream().allMatch(String.class::isInstance) || !s.options().containsKey(BASE)) {
            throw new CheckpointException(summaryJson, "records no adapters and base (a report of convsim before"
                    + " compare recorded its inputs): rerun it with the adapters and --base");
        }
        try {
            Map<String, Object> m = new LinkedHashMap<>(s.options());
            for (String prefix : List.of("i", "j")) {
                if (SMALLEST_RANK.equals(m.get(prefix))) {
                    m.put(prefix, "r");
                }
            }
            if (ALL_COMMON.equals(m.get("modules"))) {
                m.put("modules", "all");
            }
            m.put("controls", List.of()); // compare's controls are always the raw factors, and not recorded
            return new ReportedComparison(adapters.stream().map(a -> Path.of((String) a)).toList(), s.base(),
                    s.baseCheck(), AnalysisOptions.fromMap(m), s.correction(), s.inputs());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw RecordedSummary.unreadable(summaryJson, e);
        }
    }
}
