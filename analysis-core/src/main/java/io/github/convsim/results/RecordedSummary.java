package io.github.convsim.results;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.InputFiles;
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
 * What a rerun reads from a report's summary.json, whichever command wrote it: the recorded options, the input files
 * with their hashes and the correction of the verdicts. {@link ReportedRun} (analyze), {@link ReportedComparison}
 * (compare) and {@link ReportedFit} (condlora fit) take what they need from it.
 *
 * @param options    the provenance's options, as JSON values
 * @param inputs     every file the report read, with its size and sha256
 * @param correction how the report adjusted its p-values (Holm where it records none)
 */
record RecordedSummary(Map<String, Object> options, List<Provenance.InputFile> inputs, Correction correction) {
    /** Keys of the provenance options that name the inputs and the base check. */
    static final String ADAPTER = "adapter";
    static final String BASE = "base";
    static final String BASE_CHECK = "base_check";

    /**
     * Reads a summary.json that {@code tool} wrote (its provenance's "tool", e.g. "convsim compare").
     *
     * @param command the command's name as a user types it, for the message where another tool wrote the file
     * @throws CheckpointException naming the file when it cannot be read, is not JSON or another command's report
     */
    static RecordedSummary read(Path summaryJson, String tool, String command) throws CheckpointException {
        JsonNode root = json(summaryJson);
        JsonNode prov = root.get("provenance");
        if (prov == null || !tool.equals(prov.path("tool").asText())) {
            String other = prov == null ? "" : prov.path("tool").asText();
            throw new CheckpointException(summaryJson, "not the summary.json of a `convsim " + command + "` report"
                    + (other.startsWith("convsim") ? " (`" + (other.equals("convsim") ? "convsim analyze" : other)
                    + "` wrote it)" : ""));
        }
        JsonNode opts = prov.get("options");
        if (opts == null || !opts.isObject()) {
            throw new CheckpointException(summaryJson, "records no options (a report of convsim before provenance"
                    + " named its inputs)");
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
            return new RecordedSummary(options, List.copyOf(inputs),
                    correction.isMissingNode() ? Correction.HOLM : Correction.parse(correction.asText()));
        } catch (IllegalArgumentException e) {
            throw unreadable(summaryJson, e);
        }
    }

    /**
     * A summary.json as a JSON tree.
     *
     * @throws CheckpointException naming the file when it is missing, not a regular file or not JSON (with the line
     *     and column where parsing stopped)
     */
    static JsonNode json(Path summaryJson) throws CheckpointException {
        InputFiles.requireRegularFile(summaryJson);
        try {
            JsonNode root = new ObjectMapper().readTree(summaryJson.toFile());
            if (root == null || root.isMissingNode()) {
                throw new CheckpointException(summaryJson, "empty: no JSON in it");
            }
            return root;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            throw new CheckpointException(summaryJson, "not valid JSON: " + e.getOriginalMessage()
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException e) {
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw new CheckpointException(summaryJson, "cannot read: " + e.getMessage());
        }
    }

    /** The base as recorded, and how it was checked against the adapters. */
    Path base() {
        return Path.of(options.get(BASE).toString());
    }

    BaseMatch.BaseCheck baseCheck() {
        Object check = options.getOrDefault(BASE_CHECK, "strict");
        return BaseMatch.BaseCheck.valueOf(check.toString().toUpperCase(Locale.ROOT));
    }

    /** The refusal of a summary whose provenance does not read back as options. */
    static CheckpointException unreadable(Path summaryJson, RuntimeException e) {
        return new CheckpointException(summaryJson, "provenance cannot be read back: " + e.getMessage());
    }

    /**
     * Checks that the inputs read from other places are the files a report read, in the same order (each adapter's, then
     * the base's): the same roles, sizes and sha256, wherever they are now.
     *
     * @param actual the inputs as {@link Provenance#inputsOf} lists them at the new places
     * @throws CheckpointException naming the first file that is not the one recorded in its place
     */
    static void verifyMoved(List<Provenance.InputFile> recorded, List<Provenance.InputFile> actual)
            throws CheckpointException {
        for (int k = 0; k < Math.min(recorded.size(), actual.size()); k++) {
            Provenance.InputFile was = recorded.get(k);
            Provenance.InputFile is = actual.get(k);
            if (!was.role().equals(is.role()) || was.bytes() != is.bytes() || !was.sha256().equals(is.sha256())) {
                throw new CheckpointException(Path.of(is.path()), "not the " + was.role() + " file the report read"
                        + " there (" + was.path() + ", " + was.bytes() + " bytes, sha256 " + was.sha256().substring(0,
                        Math.min(12, was.sha256().length())) + "...): the rerun would not be the same analysis");
            }
        }
        if (recorded.size() != actual.size()) {
            Provenance.InputFile first = (recorded.size() > actual.size() ? recorded : actual)
                    .get(Math.min(recorded.size(), actual.size()));
            throw new CheckpointException(Path.of(first.path()), recorded.size() > actual.size()
                    ? "the report read this " + first.role() + " file, and the inputs given hold none in its place"
                    : "the inputs given read this " + first.role() + " file, which the report did not");
        }
    }

    /**
     * Checks that every input file a report read is still there with the same size and sha256.
     *
     * @throws CheckpointException naming the first file that is missing or changed
     */
    static void verify(List<Provenance.InputFile> inputs) throws CheckpointException {
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
