package io.github.convsim.results;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.similarity.MultipleTesting.Correction;
import java.nio.file.Path;
import java.util.List;

/**
 * An analysis as its report recorded it ({@code summary.json}): the inputs with their hashes, how the base was
 * checked, the options and the correction of the verdicts; enough to run it again exactly.
 *
 * <pre>{@code
 * ReportedRun run = ReportedRun.read(Path.of("convsim-report/summary.json"));
 * run.verifyInputs(); // the same bytes, or a CheckpointException naming the file that changed
 * try (LoraCheckpoint ckpt = LoraCheckpoint.open(run.adapter(), run.base(), run.baseCheck())) {
 *     AnalysisResult again = Analysis.run(ckpt, run.options(), Backends.select(run.options().backend()), NONE);
 * }
 * }</pre>
 */
public record ReportedRun(Path adapter, Path base, BaseMatch.BaseCheck baseCheck, AnalysisOptions options,
                          Correction correction, List<Provenance.InputFile> inputs) implements RecordedInputs {
    /** Keys of the provenance options that name the inputs and the base check. */
    public static final String ADAPTER = RecordedSummary.ADAPTER;
    public static final String BASE = RecordedSummary.BASE;
    public static final String BASE_CHECK = RecordedSummary.BASE_CHECK;

    /**
     * Reads a report's summary.json.
     *
     * @throws CheckpointException naming the file when it is not a convsim analysis report or lacks what a rerun needs
     */
    public static ReportedRun read(Path summaryJson) throws CheckpointException {
        RecordedSummary s = RecordedSummary.read(summaryJson, "convsim", "analyze");
        if (!s.options().containsKey(ADAPTER) || !s.options().containsKey(BASE)) {
            throw new CheckpointException(summaryJson, "records no adapter and base (a report of convsim before"
                    + " provenance named its inputs): rerun it with --adapter and --base");
        }
        try {
            return new ReportedRun(Path.of(s.options().get(ADAPTER).toString()), s.base(), s.baseCheck(),
                    AnalysisOptions.fromMap(s.options()), s.correction(), s.inputs());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw RecordedSummary.unreadable(summaryJson, e);
        }
    }
}
