package io.github.convsim.results;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.model.BaseMatch;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A CondLoRA fit as its report recorded it ({@code summary.json} of {@code convsim condlora fit}): the adapter, the base
 * and how it was checked, the fit's settings and backend, and the input files with their hashes; enough to fit it
 * again exactly.
 *
 * @param ridge   the Tikhonov parameter of the stacked least squares
 * @param draws   draws of each null
 * @param seed    seed of the nulls and the plants
 * @param backend the backend asked for (cpu, cuda or auto)
 */
public record ReportedFit(Path adapter, Path base, BaseMatch.BaseCheck baseCheck, double ridge, int draws, long seed,
                          String backend, List<Provenance.InputFile> inputs) implements RecordedInputs {
    /** Keys of the provenance options that name the inputs, the base check and the settings. */
    public static final String ADAPTER = RecordedSummary.ADAPTER;
    public static final String BASE = RecordedSummary.BASE;
    public static final String BASE_CHECK = RecordedSummary.BASE_CHECK;
    public static final String RIDGE = "ridge";
    public static final String DRAWS = "draws";
    public static final String SEED = "seed";
    public static final String BACKEND = "backend";

    /**
     * Reads a fit report's summary.json.
     *
     * @throws CheckpointException naming the file when it is not a report of convsim condlora fit or lacks what a
     *     rerun needs
     */
    public static ReportedFit read(Path summaryJson) throws CheckpointException {
        RecordedSummary s = RecordedSummary.read(summaryJson, "convsim condlora fit", "condlora fit");
        Map<String, Object> o = s.options();
        if (!(o.get(ADAPTER) instanceof String adapter) || !(o.get(BASE) instanceof String)) {
            throw new CheckpointException(summaryJson, "records no adapter and base (a report of convsim before"
                    + " condlora fit recorded its inputs): rerun it with the adapter and --base");
        }
        try {
            return new ReportedFit(Path.of(adapter), s.base(), s.baseCheck(), RecordedValues.number(o, RIDGE),
                    Math.toIntExact(RecordedValues.integer(o, DRAWS)), RecordedValues.integer(o, SEED),
                    RecordedValues.text(o, BACKEND), s.inputs());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw RecordedSummary.unreadable(summaryJson, e);
        }
    }
}
