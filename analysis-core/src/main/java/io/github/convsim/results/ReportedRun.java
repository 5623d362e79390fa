package io.github.convsim.results;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.similarity.MultipleTesting.Correction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
                          Correction correction, List<Provenance.InputFile> inputs) {
    /** Keys of the provenance options that name the inputs and the base check. */
    public static final String ADAPTER = "adapter";
    public static final String BASE = "base";
    public static final String BASE_CHECK = "base_check";

    /**
     * Reads a report's summary.json.
     *
     * @throws CheckpointException naming the file when it is not a convsim analysis report or lacks what a rerun needs
     */
    public static ReportedRun read(Path summaryJson) throws CheckpointException {
        io.github.convsim.io.InputFiles.requireRegularFile(summaryJson);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(summaryJson.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            throw new CheckpointException(summaryJson, "not valid JSON: " + e.getOriginalMessage()
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException e) {
            throw new CheckpointException(summaryJson, "cannot read: " + e.getMessage());
        }
        JsonNode prov = root == null ? null : root.get("provenance");
        if (prov == null || !"convsim".equals(prov.path("tool").asText())) {
            throw new CheckpointException(summaryJson, "not the summary.json of a `convsim analyze` report");
        }
        JsonNode opts = prov.get("options");
        if (opts == null || !opts.has(ADAPTER) || !opts.has(BASE)) {
            throw new CheckpointException(summaryJson, "records no adapter and base (a report of convsim before"
                    + " provenance named its inputs): rerun it with --adapter and --base");
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> options = new ObjectMapper().convertValue(opts, Map.class);
            List<Provenance.InputFile> inputs = new ArrayList<>();
            for (JsonNode f : prov.path("inputs")) {
                inputs.add(new Provenance.InputFile(f.path("role").asText(), f.path("path").asText(),
                        f.path("bytes").asLong(), f.path("sha256").asText()));
            }
            JsonNode correction = root.path("statistics").path("correction");
            return new ReportedRun(Path.of(opts.get(ADAPTER).asText()), Path.of(opts.get(BASE).asText()),
                    BaseMatch.BaseCheck.valueOf(opts.path(BASE_CHECK).asText("strict").toUpperCase(Locale.ROOT)),
                    AnalysisOptions.fromMap(options),
                    correction.isMissingNode() ? Correction.HOLM : Correction.parse(correction.asText()),
                    List.copyOf(inputs));
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new CheckpointException(summaryJson, "provenance cannot be read back: " + e.getMessage());
        }
    }

    /**
     * Checks that every input file the report read is still there with the same size and sha256.
     *
     * @throws CheckpointException naming the first file that is missing or changed
     */
    public void verifyInputs() throws CheckpointException {
        for (Provenance.InputFile f : inputs) {
            Path p = Path.of(f.path());
            try {
                if (!Files.isRegularFile(p)) {
                    throw new CheckpointException(p, "the report's " + f.role() + " file is gone");
                }
                if (Files.size(p) != f.bytes() || !Provenance.sha256(p).equals(f.sha256())) {
                    throw new CheckpointException(p, "the report's " + f.role() + " file changed since (size or"
                            + " sha256 differs): the rerun would not be the same analysis");
                }
            } catch (IOException e) {
                if (e instanceof CheckpointException ce) {
                    throw ce;
                }
                throw new CheckpointException(p, "cannot hash: " + e.getMessage());
            }
        }
    }
}
